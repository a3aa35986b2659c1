/** `ctnet daemon`: run the agent in the foreground. @module */
import { DEFAULT_SOCKET, socketPathOf } from '../../client/api.js';
import type { Program } from '../program.js';

export function register(program: Program, version: string): void {
  program
    .command('daemon')
    .description('run the agent: one warm engine serving ctnet and CNI calls on a unix socket, in the foreground')
    .option('--socket <path>', `unix socket to listen on (env CTNET_SOCKET, default ${DEFAULT_SOCKET})`)
    .option('--log-json', 'log JSON lines instead of text')
    .option('--log-file <path>', 'append the log to this file instead of stderr (reopened on SIGHUP)')
    .option('--no-repair', 'do not watch the kernel to repair what others break of ctnet\'s networks')
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals();
      // The agent and the engine are loaded only here, so every other command starts without them.
      const { runAgent } = await import('../../daemon/agent.js');
      await runAgent({
        socketPath: opts.socket ?? socketPathOf(),
        stateDir: g.stateDir,
        logJson: opts.logJson === true,
        ...(opts.logFile === undefined ? {} : { logFile: opts.logFile }),
        repair: opts.repair,
        version,
      });
    });
}
