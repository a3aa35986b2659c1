/**
 * Memory: the peak RSS of one `ctnet` CLI invocation (connect, disconnect; `node -e 0` for scale),
 * from GNU time's `%M` (or, without it, VmHWM read by a wrapper at exit), min(N, 10) runs each;
 * and the VmHWM of a library process holding 1000 endpoints (a child process of its own: create a
 * network, connect 1000 containers, read /proc/self/status).
 * @module
 */
import { join } from 'node:path';
import { Ctnet } from '../../src/index.js';
import { GNU_TIME, hasTool } from '../tools.js';
import type { Group, GroupContext } from '../types.js';
import { CLI, clientScript, cliSync, names, ownNetns, nodeEnv, runSync, withCleanup } from '../util.js';

const HOLD = 1000;

/** Peak RSS in MiB of `cmd args` (a Node program), and how it was read. */
function peakRss(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  if (hasTool('GNU time')) {
    const r = runSync(GNU_TIME, ['-f', 'maxrss %M', cmd, ...args], { env });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`);
    const m = /maxrss (\d+)/.exec(r.stderr);
    if (m?.[1] === undefined) throw new Error(`no maxrss in GNU time's output: ${r.stderr.trim()}`);
    return Number(m[1]) / 1024;
  }
  // The wrapper loads the script itself, so `cmd` must be a Node script here (or node -e).
  const script = cmd === process.execPath ? args : [cmd, ...args];
  const r = runSync(process.execPath, [clientScript('hwm-wrapper'), ...script], { env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`);
  const m = /VmHWM (\d+)/.exec(r.stderr);
  if (m?.[1] === undefined) throw new Error(`no VmHWM from the wrapper: ${r.stderr.trim()}`);
  return Number(m[1]) / 1024;
}

async function cliPeak(ctx: GroupContext): Promise<void> {
  const count = Math.min(ctx.n, 10);
  const state = join(ctx.dir, 'cli');
  const env = nodeEnv({ CTNET_STATE_DIR: state });
  const how = hasTool('GNU time') ? 'GNU time %M' : 'VmHWM at exit (GNU time missing)';
  await withCleanup((c) => {
    cliSync(state, ['network', 'create', 'memcli', '--subnet', '10.117.0.0/16', '--bridge', 'bb-memcli']);
    c.push('ctnet network rm memcli', () => cliSync(state, ['network', 'rm', 'memcli']));
    const all = names('mc', count);
    ownNetns(c, all);
    const connected = new Set<string>();
    c.push('disconnect what is left', () => {
      for (const ns of connected) cliSync(state, ['disconnect', 'memcli', ns]);
    });
    // Under GNU time the CLI is exec'd as typed, through its shebang; without it the wrapper imports bin/ctnet.js.
    const cmd = hasTool('GNU time') ? CLI : process.execPath;
    const pre = hasTool('GNU time') ? [] : [CLI];
    const node = Array.from({ length: count }, () => peakRss(process.execPath, ['-e', '0'], env));
    const add: number[] = [];
    for (const ns of all) {
      add.push(peakRss(cmd, [...pre, 'connect', 'memcli', ns], env));
      connected.add(ns);
    }
    const del: number[] = [];
    for (const ns of all) {
      del.push(peakRss(cmd, [...pre, 'disconnect', 'memcli', ns], env));
      connected.delete(ns);
    }
    const version = Array.from({ length: count }, () => peakRss(cmd, [...pre, '--version'], env));
    ctx.add({ id: 'memory.node', name: 'peak RSS: node -e 0', unit: 'MiB', samples: node, note: how });
    ctx.add({ id: 'memory.cli.version', name: 'peak RSS: ctnet --version', unit: 'MiB', samples: version, note: how });
    ctx.add({ id: 'memory.cli.connect', name: 'peak RSS: ctnet connect', unit: 'MiB', samples: add, note: how });
    ctx.add({ id: 'memory.cli.disconnect', name: 'peak RSS: ctnet disconnect', unit: 'MiB', samples: del, note: how });
  });
}

interface HolderLine {
  phase: 'before' | 'after' | 'done';
  hwmKiB: number;
  rssKiB: number;
  heapUsed: number;
  external: number;
}

async function libraryHolding(ctx: GroupContext): Promise<void> {
  const state = join(ctx.dir, 'holder');
  await withCleanup((c) => {
    const all = names('mh', HOLD);
    ownNetns(c, all);
    // If the holder dies half way, take down what it left through the library.
    c.push('clean up after the holder', async () => {
      const ct = Ctnet.open({ stateDir: state });
      try {
        if (!ct.listNetworks().some((n) => n.name === 'memlib')) return;
        for (const e of ct.listEndpoints()) await ct.disconnect('memlib', e.container);
        await ct.removeNetwork('memlib');
      } finally {
        ct.close();
      }
    });
    const r = runSync(process.execPath, [clientScript('holder'), state, 'memlib', '10.118.0.0/16', 'bb-memlib', 'mh', String(HOLD)], {
      env: nodeEnv(),
      timeout: 10 * 60_000,
    });
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as HolderLine);
    if (r.status !== 0) throw new Error(`holder exited with ${String(r.status)}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
    const before = lines.find((l) => l.phase === 'before');
    const after = lines.find((l) => l.phase === 'after');
    if (before === undefined || after === undefined) throw new Error(`holder reported no memory: ${r.stdout.trim()}`);
    const mib = (kib: number): number => kib / 1024;
    ctx.add({
      id: 'memory.lib-1000.hwm',
      name: `library process holding ${HOLD} endpoints: VmHWM`,
      unit: 'MiB',
      samples: [mib(after.hwmKiB)],
      note: `VmHWM ${mib(before.hwmKiB).toFixed(1)} MiB with the network and no endpoint; RSS ${mib(before.rssKiB).toFixed(1)} -> ${mib(after.rssKiB).toFixed(1)} MiB; JS heap ${(before.heapUsed / 2 ** 20).toFixed(1)} -> ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB`,
      extra: { beforeHwmKiB: before.hwmKiB, beforeRssKiB: before.rssKiB, afterRssKiB: after.rssKiB, beforeHeapUsed: before.heapUsed, afterHeapUsed: after.heapUsed },
    });
  });
}

export const memoryGroup: Group = {
  name: 'memory',
  describe: `peak RSS of one CLI invocation; VmHWM of a library process holding ${HOLD} endpoints`,
  async run(ctx) {
    await ctx.attempt('memory.cli', () => cliPeak(ctx));
    await ctx.attempt('memory.lib-1000', () => libraryHolding(ctx));
  },
};
