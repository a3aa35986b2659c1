/**
 * `ctnet daemon`: the agent. One warm engine on the state directory, served over a unix socket,
 * in the foreground until SIGTERM or SIGINT; SIGHUP reopens the log file.
 * @module
 */
import { errorMessage, InvalidConfigError } from '../errors.js';
import { describeGcReport } from '../index.js';
import { namespaceIdentity } from '../client/api.js';
import { ApiServer, DEFAULT_LIMITS, type ServerLimits } from './http.js';
import { AgentLog } from './log.js';
import { Repairer } from './repair.js';
import { apiHandler } from './routes.js';
import { asSocketOwner, listenPrivate, removeSocket } from './socket.js';
import { WarmEngine } from './warm-engine.js';

export interface AgentOptions {
  socketPath: string;
  /** `--state-dir` as given; undefined: `$CTNET_STATE_DIR` or the default. */
  stateDir: string | undefined;
  logJson: boolean;
  logFile?: string;
  /** Watch the kernel and repair what others break of ctnet's networks (default true). */
  repair?: boolean;
  /** ctnet's version, for `/v1/version` and the log. */
  version: string;
  limits?: ServerLimits;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Wait for SIGTERM or SIGINT, reopening the log on SIGHUP meanwhile. Returns the signal, and a
 * function that removes the handlers; until then a second stop signal is only logged, so a
 * stop in progress is never cut short.
 */
function stopSignal(log: AgentLog): { signal: Promise<string>; release: () => void } {
  let stopped = false;
  let resolveSignal: (name: string) => void = () => undefined;
  const signal = new Promise<string>((resolve) => (resolveSignal = resolve));
  const onStop = (name: string): void => {
    if (stopped) {
      log.write('agent-stopping', `${name}: already stopping, waiting for the requests in flight`);
      return;
    }
    stopped = true;
    resolveSignal(name);
  };
  const onHangup = (): void => {
    log.reopen();
    log.write('log-reopened', 'SIGHUP: log reopened');
  };
  for (const name of STOP_SIGNALS) process.on(name, onStop);
  process.on('SIGHUP', onHangup);
  return {
    signal,
    release: () => {
      for (const name of STOP_SIGNALS) process.off(name, onStop);
      process.off('SIGHUP', onHangup);
    },
  };
}

/**
 * What crashes left behind (records of vanished containers, half-made endpoints and networks,
 * objects no record owns) is collected before the agent serves anyone. A gc that fails is logged:
 * the agent still serves, as the CLI would without it.
 */
async function collectGarbage(warm: WarmEngine, log: AgentLog): Promise<void> {
  try {
    const report = await warm.use(warm.stateDir, (ct) => ct.gc());
    if (report.actions.length === 0 && report.inProgress.length === 0) return;
    for (const line of describeGcReport(report)) log.write('gc', `gc: ${line}`);
  } catch (err) {
    log.write('gc-failed', `gc at start failed: ${errorMessage(err)}`);
  }
}

/** Run the agent until it is told to stop; resolves once it has stopped cleanly. */
export async function runAgent(options: AgentOptions): Promise<void> {
  const uid = process.geteuid?.() ?? -1;
  if (uid !== 0) throw new InvalidConfigError(`ctnet daemon must run as root (it runs as uid ${uid}): it changes the host's network and serves root's clients only`);
  const log = new AgentLog({ json: options.logJson, ...(options.logFile === undefined ? {} : { file: options.logFile }) });
  const { signal, release } = stopSignal(log);
  try {
    await asSocketOwner(options.socketPath, log, async () => {
      const warm = new WarmEngine(options.stateDir, log);
      await collectGarbage(warm, log);
      const api = new ApiServer(apiHandler({ warm, log, version: options.version, namespaces: namespaceIdentity() }), log, options.limits ?? DEFAULT_LIMITS);
      let listening = false;
      let repairer: Repairer | undefined;
      try {
        if (options.repair !== false) repairer = Repairer.start(warm, log);
        await listenPrivate(api.server, options.socketPath);
        listening = true;
        log.write('agent-started', `ctnet agent ${options.version} (pid ${process.pid}) serves state directory ${warm.stateDir} on ${options.socketPath}`, {
          version: options.version,
          pid: process.pid,
          stateDir: warm.stateDir,
          socket: options.socketPath,
        });
        const name = await signal;
        log.write('agent-stopping', `${name}: stopping; requests in flight finish first`, { signal: name });
        await api.stop();
      } finally {
        await repairer?.stop();
        warm.close();
        if (listening) removeSocket(options.socketPath);
      }
      log.write('agent-stopped', 'stopped');
    });
  } finally {
    release();
    log.close();
  }
}
