/**
 * The agent (`ctnet daemon`) in integration tests: started by the test with its socket in a
 * temporary directory of its own, stopped by its pid. With `CTNET_TEST_AGENT=1`, every state
 * directory a test gets from `tempStateDir()` is served by an agent of its own, started on the
 * first `cli()` call for it, so the CLI suites run through the agent unchanged.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './paths.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request on a unix socket, as a client of the agent's API would make it. */
export function agentRequest(socket: string, method: string, path: string, body?: string, headers: Readonly<Record<string, string>> = {}): Promise<HttpAnswer> {
  return new Promise((resolveAnswer, reject) => {
    const req = request({ socketPath: socket, method, path, agent: false, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => { resolveAnswer({ status: res.statusCode ?? 0, headers: res.headers, body: text }); });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface RunningAgent {
  socket: string;
  pid: number;
  /** What the agent logged so far (stderr, or nothing with --log-file). */
  log: () => string;
  /** Signal the agent by its pid and wait for it to exit: its exit code, or the signal that ended it. */
  stop: (signal?: NodeJS.Signals) => Promise<number | string>;
  /** Resolves with the exit code or signal once the agent has exited. */
  exited: Promise<number | string>;
}

export interface StartAgentOptions {
  /** Default: `ctnet.sock` in a new temporary directory, removed once the agent has stopped. */
  socket?: string;
  /** More `ctnet daemon` flags. */
  args?: readonly string[];
}

async function waitUntilServing(socket: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ctnet daemon exited with ${String(child.exitCode ?? child.signalCode)}: ${log()}`);
    try {
      if ((await agentRequest(socket, 'GET', '/v1/version')).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`ctnet daemon did not answer on ${socket}: ${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Start `ctnet daemon` on `stateDir` and wait until it answers on its socket. */
export async function startAgent(stateDir: string, options: StartAgentOptions = {}): Promise<RunningAgent> {
  const dir = options.socket === undefined ? mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? tmpdir(), 'agent-')) : undefined;
  const socket = options.socket ?? join(dir ?? '', 'ctnet.sock');
  const env: Record<string, string | undefined> = { ...process.env };
  delete env['CTNET_SOCKET'];
  const child = spawn(process.execPath, [CLI, 'daemon', '--state-dir', stateDir, '--socket', socket, ...(options.args ?? [])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = (): string => stderr;
  const exited = once(child, 'exit').then(([code, signal]) => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    return (code as number | null) ?? (signal as string);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('ctnet daemon did not start');
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, signal);
    return exited;
  };
  try {
    await waitUntilServing(socket, child, log);
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return { socket, pid, log, stop, exited };
}

/** Whether the CLI suites run through agents (`CTNET_TEST_AGENT=1`). */
export const AGENT_MODE = process.env['CTNET_TEST_AGENT'] === '1';

/** In agent mode: the state directories agents may serve, and the agent of each once started. */
const served = new Map<string, Promise<RunningAgent> | undefined>();

/**
 * In agent mode, let an agent serve `stateDir` from the first `cli()` call on; returns what stops
 * that agent (nothing to do outside agent mode, or when no call needed it).
 */
export function serveByAgent(stateDir: string): () => Promise<void> {
  if (!AGENT_MODE) return () => Promise.resolve();
  served.set(stateDir, undefined);
  return async () => {
    const agent = served.get(stateDir);
    served.delete(stateDir);
    if (agent !== undefined) await (await agent).stop();
  };
}

/** The environment that points a CLI call on `stateDir` at its agent; empty when no agent serves it. */
export async function agentEnv(stateDir: string | undefined): Promise<Record<string, string>> {
  if (stateDir === undefined || !served.has(stateDir)) return {};
  let agent = served.get(stateDir);
  if (agent === undefined) {
    agent = startAgent(stateDir);
    served.set(stateDir, agent);
  }
  return { CTNET_SOCKET: (await agent).socket };
}
