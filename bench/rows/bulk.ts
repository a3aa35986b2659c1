/**
 * Many containers at once: 200 sequential connects through one library instance (wall time and the
 * per-connect distribution), and 8 `ctnet` CLI clients in parallel connecting 8 containers each
 * (wall time; every container must end up with its own address, checked in the kernel and in
 * `ctnet ls`: a duplicate is reported, not thrown).
 * @module
 */
import { join } from 'node:path';
import { Ctnet } from '../../src/index.js';
import { checkAttached } from '../measure.js';
import { msSince } from '../stats.js';
import type { Group, GroupContext } from '../types.js';
import { cliAsync, cliSync, names, ownNetns, withCleanup } from '../util.js';

const LIB_COUNT = 200;
const LANES = 8;
const PER_LANE = 8;

async function libraryBulk(ctx: GroupContext): Promise<void> {
  await withCleanup(async (c) => {
    const ct = Ctnet.open({ stateDir: join(ctx.dir, 'lib') });
    c.push('close library', () => { ct.close(); });
    await ct.createNetwork({ name: 'bulklib', subnets: ['10.111.0.0/16'], bridge: 'bb-bulklib' });
    c.push('remove network bulklib', () => ct.removeNetwork('bulklib'));
    const all = names('bk', LIB_COUNT);
    ownNetns(c, all);
    const connected: string[] = [];
    c.push('disconnect what is left', async () => {
      for (const ns of connected) await ct.disconnect('bulklib', ns);
    });
    const each: number[] = [];
    const t0 = process.hrtime.bigint();
    for (const ns of all) {
      const t = process.hrtime.bigint();
      await ct.connect('bulklib', ns);
      each.push(msSince(t));
      connected.push(ns);
    }
    const total = msSince(t0);
    const dels: number[] = [];
    const t1 = process.hrtime.bigint();
    while (connected.length > 0) {
      const ns = connected[connected.length - 1] ?? '';
      const t = process.hrtime.bigint();
      await ct.disconnect('bulklib', ns);
      dels.push(msSince(t));
      connected.pop();
    }
    const totalDel = msSince(t1);
    ctx.add({ id: 'bulk.lib.connect-total', name: `library: ${LIB_COUNT} connects, wall time`, unit: 'ms', samples: [total] });
    ctx.add({ id: 'bulk.lib.connect', name: `library: ${LIB_COUNT} connects, each`, unit: 'ms', samples: each, note: 'endpoint k joins k-1 others' });
    ctx.add({ id: 'bulk.lib.disconnect-total', name: `library: ${LIB_COUNT} disconnects, wall time`, unit: 'ms', samples: [totalDel] });
    ctx.add({ id: 'bulk.lib.disconnect', name: `library: ${LIB_COUNT} disconnects, each`, unit: 'ms', samples: dels });
  });
}

async function cliParallel(ctx: GroupContext): Promise<void> {
  const state = join(ctx.dir, 'cli');
  await withCleanup(async (c) => {
    cliSync(state, ['network', 'create', 'bulkcli', '--subnet', '10.112.0.0/16', '--bridge', 'bb-bulkcli']);
    c.push('ctnet network rm bulkcli', () => cliSync(state, ['network', 'rm', 'bulkcli']));
    const lanes = Array.from({ length: LANES }, (_, l) => names(`bp${l}x`, PER_LANE));
    const all = lanes.flat();
    ownNetns(c, all);
    const connected = new Set<string>();
    c.push('disconnect what is left', async () => {
      for (const ns of connected) await cliAsync(state, ['disconnect', 'bulkcli', ns]);
    });
    const errors: string[] = [];
    const lane = async (list: readonly string[], verb: 'connect' | 'disconnect'): Promise<void> => {
      for (const ns of list) {
        try {
          await cliAsync(state, [verb, 'bulkcli', ns]);
          if (verb === 'connect') connected.add(ns);
          else connected.delete(ns);
        } catch (err) {
          errors.push(err instanceof Error ? err.message : String(err));
        }
      }
    };
    const t0 = process.hrtime.bigint();
    await Promise.all(lanes.map((l) => lane(l, 'connect')));
    const wall = msSince(t0);
    ctx.add({ id: 'bulk.cli-parallel.connect-wall', name: `CLI: ${LANES} parallel clients x ${PER_LANE} connects, wall time`, unit: 'ms', samples: [wall], note: `${connected.size}/${all.length} connected` });
    // Distinct addresses: what the kernel holds, and what ctnet's state says.
    const kernel = new Map<string, string[]>();
    for (const ns of connected) {
      try {
        const a = checkAttached(ns);
        kernel.set(a, [...(kernel.get(a) ?? []), ns]);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    const dupK = [...kernel.entries()].filter(([, v]) => v.length > 1);
    const listed = JSON.parse(cliSync(state, ['ls', '--json'])) as { container: string; addresses: string[] }[];
    const stateAddrs = listed.flatMap((e) => e.addresses);
    const dupS = stateAddrs.filter((a, i) => stateAddrs.indexOf(a) !== i);
    const verdict =
      dupK.length === 0 && dupS.length === 0 && kernel.size === all.length && listed.length === all.length
        ? `all ${all.length} addresses distinct (kernel and ctnet ls)`
        : `ASSERTION FAILED: ${kernel.size} distinct kernel addresses for ${connected.size} connected of ${all.length}; ` +
          `kernel duplicates ${JSON.stringify(dupK)}; ctnet ls lists ${listed.length}, duplicates ${JSON.stringify(dupS)}`;
    ctx.note(`CLI parallel: ${verdict}`);
    if (errors.length > 0) ctx.note(`CLI parallel: ${errors.length} client error(s): ${errors.slice(0, 3).join(' | ')}`);
    const t1 = process.hrtime.bigint();
    await Promise.all(lanes.map((l) => lane(l, 'disconnect')));
    ctx.add({ id: 'bulk.cli-parallel.disconnect-wall', name: `CLI: ${LANES} parallel clients x ${PER_LANE} disconnects, wall time`, unit: 'ms', samples: [msSince(t1)] });
  });
}

export const bulkGroup: Group = {
  name: 'bulk',
  describe: `${LIB_COUNT} containers through the library; ${LANES} CLI clients in parallel, ${PER_LANE} containers each`,
  async run(ctx) {
    await ctx.attempt('bulk.lib', () => libraryBulk(ctx));
    await ctx.attempt('bulk.cli-parallel', () => cliParallel(ctx));
  },
};
