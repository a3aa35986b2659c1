/**
 * Process and namespace helpers shared by the row groups: running commands, named namespaces in
 * bulk, the ctnet executables, and a cleanup stack that runs even when a row fails.
 * @module
 */
import { execFile, spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The repository root (this file is dist/bench/util.js). */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');
/** The `ctnet` executable, run directly as a user types `ctnet` (its shebang finds node). */
export const CLI = join(REPO_ROOT, 'bin/ctnet.js');
/** The `ctnet-cni` executable, exec'd as a runtime execs a plugin. */
export const CNI_PLUGIN = join(REPO_ROOT, 'bin/ctnet-cni.js');
/** The native CNI client (native/cni/ctnet-cni.c) as node-gyp builds it; `ctnet install-cni` copies it. */
export const NATIVE_CNI_CLIENT = join(REPO_ROOT, 'build/Release/ctnet-cni');

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion; never throws for a non-zero exit. */
export function runSync(cmd: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error !== undefined) throw new Error(`${cmd}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Run a command; its stdout, or an error carrying its stderr when it fails. */
export function sh(cmd: string, args: readonly string[], options: SpawnSyncOptions = {}): string {
  const r = runSync(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** `sh` without blocking the event loop. */
export async function shAsync(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, [...args], { maxBuffer: 64 * 1024 * 1024, ...(env === undefined ? {} : { env }) });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || (e.message ?? String(err))}`, { cause: err });
  }
}

export function ip(...args: string[]): void {
  sh('ip', args);
}

/** Several `ip` commands in one process (`ip -batch -`), for setup and cleanup outside the timing. */
export function ipBatch(lines: readonly string[], { force = false } = {}): void {
  if (lines.length === 0) return;
  sh('ip', [...(force ? ['-force'] : []), '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/** Create named namespaces (as `ip netns add` does), each with its loopback down as a fresh one has. */
export function netnsAdd(names: readonly string[]): void {
  ipBatch(names.map((n) => `netns add ${n}`));
}

/** Delete named namespaces that exist; missing ones are ignored. */
export function netnsDel(names: readonly string[]): void {
  const present = names.filter((n) => existsSync(`/run/netns/${n}`));
  ipBatch(present.map((n) => `netns del ${n}`), { force: true });
}

/**
 * Create named namespaces owned by cleanup stack `c`. Their deletion is registered before they are
 * made, so a batch that fails half way (a name already taken) still leaves none of them behind.
 */
export function ownNetns(c: Cleanup, list: readonly string[]): void {
  c.push(`delete namespaces ${list[0] ?? ''}..${list[list.length - 1] ?? ''}`, () => { netnsDel(list); });
  netnsAdd(list);
}

/** `count` names `prefix0`, `prefix1`, ... */
export function names(prefix: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);
}

/** An IPv4 address in a /16: `base` is `10.101`, `i` the host number (2 → 10.101.0.2). */
export function hostIp(base: string, i: number): string {
  return `${base}.${Math.floor(i / 256)}.${i % 256}`;
}

/** The environment for ctnet processes: no CA bundle hint (it slows every Node start by ~50 ms). */
export function nodeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['NODE_EXTRA_CA_CERTS'];
  return env;
}

/** Run the `ctnet` CLI with a state dir; throws with its stderr when it fails. */
export function cliSync(stateDir: string, args: readonly string[]): string {
  return sh(CLI, args, { env: nodeEnv({ CTNET_STATE_DIR: stateDir }) });
}

/** The same, without blocking the event loop (for parallel clients). */
export function cliAsync(stateDir: string, args: readonly string[]): Promise<string> {
  return shAsync(CLI, args, nodeEnv({ CTNET_STATE_DIR: stateDir }));
}

/**
 * Undo actions run newest first, each at most once; a failing one is reported and the rest still
 * run. Groups push one as each thing is made, and run them in `finally`.
 */
export class Cleanup {
  readonly #steps: { what: string; fn: () => unknown }[] = [];

  push(what: string, fn: () => unknown): void {
    this.#steps.push({ what, fn });
  }

  /** Run every step; returns the failures as `what: message`. */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop();
      if (step === undefined) break;
      try {
        await step.fn();
      } catch (err) {
        failures.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failures;
  }
}

/**
 * Run `body` with a cleanup stack that runs whatever happens. When the body failed, its error is
 * the one thrown (cleanup failures are printed); when only the cleanup failed, that is thrown, so
 * the row is reported as failed rather than leaving things behind silently.
 */
export async function withCleanup<T>(body: (c: Cleanup) => T | Promise<T>): Promise<T> {
  const c = new Cleanup();
  let result: T;
  try {
    result = await body(c);
  } catch (err) {
    const failures = await c.run();
    if (failures.length > 0) console.error(`bench: cleanup after a failure also failed: ${failures.join('; ')}`);
    throw err;
  }
  const failures = await c.run();
  if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join('; ')}`);
  return result;
}

/** VmHWM / VmRSS of a process in KiB, from /proc/PID/status. */
export function procMemory(pid: number | 'self'): { hwmKiB: number; rssKiB: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m?.[1] === undefined ? Number.NaN : Number(m[1]);
  };
  return { hwmKiB: field('VmHWM'), rssKiB: field('VmRSS') };
}

/** Wait until `check` returns true, polling every `stepMs`, at most `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The nftables tables in the sandbox, as `family name`. */
export function nftTables(): string[] {
  const out = runSync('nft', ['list', 'tables']);
  if (out.status !== 0) return [];
  return out.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('table ')).map((l) => l.slice('table '.length));
}

/**
 * Remove nftables tables that appeared since `before` and that ctnet does not own (iptables-nft's
 * tables left by the reference plugins and netavark). Returns ctnet's table if it was left behind.
 */
export function dropNewForeignTables(before: readonly string[]): string[] {
  const leftovers: string[] = [];
  for (const t of nftTables()) {
    if (before.includes(t)) continue;
    if (t === 'inet ctnet') {
      leftovers.push(t);
      continue;
    }
    runSync('nft', ['delete', 'table', ...t.split(' ')]);
  }
  return leftovers;
}

export interface Background {
  pid: number;
  /** Stop it (SIGKILL, by pid) and wait for it to exit. */
  stop(): Promise<void>;
}

/**
 * Start a long-running command (inside named namespace `ns` through `ip netns exec`, which execs
 * it under the same pid, or in the sandbox itself when `ns` is undefined) and wait until its stdout
 * or stderr shows `ready`.
 */
export async function startBackground(ns: string | undefined, cmd: string, args: readonly string[], ready: string, timeoutMs = 10_000): Promise<Background> {
  const argv = ns === undefined ? [cmd, ...args] : ['ip', 'netns', 'exec', ns, cmd, ...args];
  const child = spawn(argv[0] ?? cmd, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: nodeEnv() });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => { resolveExit(); }));
  let out = '';
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${argv.join(' ')} not ready after ${timeoutMs} ms: ${out.trim()}`)); }, timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited with ${String(code)} before it was ready: ${out.trim()}`));
    });
  }).catch((err: unknown) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  });
  // Keep draining its output so it never blocks on a full pipe.
  child.stdout.resume();
  child.stderr.resume();
  return {
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A compiled helper script of the bench (dist/bench/clients/NAME.js). */
export function clientScript(name: string): string {
  return join(REPO_ROOT, 'dist/bench/clients', `${name}.js`);
}
