/**
 * Start-up: a bare `node -e 0` against `ctnet --version` (exec'd as typed, through its
 * `#!/usr/bin/env node` line) and `node bin/ctnet.js --version`, min(N, 30) sequential runs each,
 * after one untimed run of each. NODE_EXTRA_CA_CERTS is unset (main.ts removes it).
 * @module
 */
import { msSince } from '../stats.js';
import type { Group } from '../types.js';
import { CLI, nodeEnv, runSync } from '../util.js';

function timeRuns(count: number, cmd: string, args: readonly string[]): number[] {
  const env = nodeEnv();
  const once = (): number => {
    const t = process.hrtime.bigint();
    const r = runSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = msSince(t);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`);
    return ms;
  };
  once();
  return Array.from({ length: count }, once);
}

export const startupGroup: Group = {
  name: 'startup',
  describe: 'process start-up: node -e 0 against ctnet --version, min(N, 30) runs each',
  async run(ctx) {
    const count = Math.min(ctx.n, 30);
    await ctx.attempt('startup', () => {
      ctx.add({ id: 'startup.node', name: 'node -e 0', unit: 'ms', samples: timeRuns(count, process.execPath, ['-e', '0']) });
      ctx.add({ id: 'startup.ctnet-version', name: 'ctnet --version', unit: 'ms', samples: timeRuns(count, CLI, ['--version']), note: 'exec\'d through #!/usr/bin/env node' });
      ctx.add({ id: 'startup.node-ctnet-version', name: 'node bin/ctnet.js --version', unit: 'ms', samples: timeRuns(count, process.execPath, [CLI, '--version']) });
    });
  },
};
