/**
 * What a podman user waits for: `podman run -d` and `podman rm -f -t 0` of a container with one
 * published port, on ctnet (the native CNI client with the agent up, as `ctnet install-cni` and
 * `ctnet daemon` set a host up) and on the reference plugins podman 4 configures
 * (bridge+host-local+portmap), min(N, 10) rounds alternating the two. The lab is the test suite's
 * private podman (own configuration, storage and CNI directories, in its own mount namespace),
 * so the rows time podman's whole path: conmon, the runtime, the plugins and the network.
 * @module
 */
import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CT_NET, PodmanLab, podmanSkipReason, REF_NET } from '../../test/helpers/podman.js';
import type { Group } from '../types.js';
import { NATIVE_CNI_CLIENT } from '../util.js';

const KINDS = [
  { id: 'podman.ctnet', name: 'podman, ctnet (native client + agent)', network: CT_NET.name, port: 26000 },
  { id: 'podman.ref', name: 'podman, bridge+host-local+portmap', network: REF_NET.name, port: 27000 },
] as const;

export const podmanGroup: Group = {
  name: 'podman',
  describe: 'podman run -d / rm -f -t 0 with one port, ctnet (native client + agent) against bridge+host-local+portmap, min(N, 10) rounds',
  async run(ctx) {
    const skip = podmanSkipReason() ?? (existsSync(NATIVE_CNI_CLIENT) ? undefined : `${NATIVE_CNI_CLIENT} is not built`);
    if (skip !== undefined) {
      ctx.skip('podman', skip);
      return;
    }
    await ctx.attempt('podman', async () => {
      const lab = await PodmanLab.start({
        installPlugin: (dir) => {
          copyFileSync(NATIVE_CNI_CLIENT, join(dir, 'ctnet'));
          chmodSync(join(dir, 'ctnet'), 0o755);
          return Promise.resolve();
        },
      });
      try {
        const agent = await lab.startAgent();
        try {
          const samples = new Map<string, { run: number[]; rm: number[] }>(KINDS.map((k) => [k.id, { run: [], rm: [] }]));
          const round = async (i: number, timed: boolean): Promise<void> => {
            for (const kind of KINDS) {
              const name = `${kind.id.replace('.', '-')}-${i}`;
              const run = await lab.runDetached(name, kind.network, ['sleep', '600'], ['-p', `${kind.port + i}:80`]);
              if (run.code !== 0) throw new Error(`podman run on ${kind.network}: ${run.stderr.trim()}`);
              const rm = await lab.run(['rm', '-f', '-t', '0', name]);
              if (rm.code !== 0) throw new Error(`podman rm on ${kind.network}: ${rm.stderr.trim()}`);
              if (!timed) continue;
              samples.get(kind.id)?.run.push(run.ms);
              samples.get(kind.id)?.rm.push(rm.ms);
            }
          };
          // One untimed round: the networks, the image's layers and podman's own caches are made.
          await round(999, false);
          const n = Math.min(ctx.n, 10);
          for (let i = 0; i < n; i++) await round(i, true);
          for (const kind of KINDS) {
            const s = samples.get(kind.id) ?? { run: [], rm: [] };
            ctx.add({ id: `${kind.id}.run`, name: `${kind.name}: run -d`, unit: 'ms', samples: s.run, note: 'one published port; rounds alternate ctnet and the reference plugins' });
            ctx.add({ id: `${kind.id}.rm`, name: `${kind.name}: rm -f -t 0`, unit: 'ms', samples: s.rm });
          }
          if (!agent.log().includes('connected to network')) ctx.note('podman: the agent served no ADD; the ctnet rows timed the fallback');
        } finally {
          await agent.stop();
        }
      } finally {
        await lab.close();
      }
    });
  },
};
