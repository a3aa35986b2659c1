/**
 * A `ctnet daemon` for the rows that measure calls served by the agent: started on a state
 * directory and a socket in the bench's temporary directory, stopped by its pid.
 * @module
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { CLI } from './util.js';

export interface BenchAgent {
  socket: string;
  pid: number;
  /** What the agent logged on stderr so far. */
  log: () => string;
  /** SIGTERM, then wait for it to exit. */
  stop: () => Promise<void>;
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/v1/version', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => { resolve(false); });
    req.end();
  });
}

/** Start the agent and wait (up to 10 s) until it answers on `socket`. */
export async function startBenchAgent(stateDir: string, socket: string): Promise<BenchAgent> {
  const env = { ...process.env };
  delete env['CTNET_SOCKET'];
  const child = spawn(process.execPath, [CLI, 'daemon', '--state-dir', stateDir, '--socket', socket], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  const pid = child.pid;
  if (pid === undefined) throw new Error('ctnet daemon did not start');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 10_000;
  while (!(await answers(socket))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`ctnet daemon did not answer on ${socket}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { socket, pid, log: () => stderr, stop };
}

export interface CniOverHttp {
  /** The plugin's exit code, from the agent's Ctnet-Cni-Exit header. */
  exit: number;
  stdout: string;
  /** The whole exchange, as this process saw it. */
  roundTripMs: number;
  /** The agent's own time for the call (its Server-Timing header). */
  serverMs: number;
}

/** One CNI call straight to the agent's `POST /v1/cni`, as the native client sends it but without its exec. */
export function cniOverHttp(socket: string, env: Readonly<Record<string, string>>, stdin: string): Promise<CniOverHttp> {
  const body = JSON.stringify({ env, stdin });
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, method: 'POST', path: '/v1/cni', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' } },
      (res) => {
        let stdout = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (stdout += d));
        res.on('end', () => {
          const serverMs = Number(/dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''))?.[1]);
          resolve({ exit: Number(res.headers['ctnet-cni-exit']), stdout, roundTripMs: performance.now() - started, serverMs });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
