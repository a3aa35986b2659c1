/**
 * The agent's unix socket: a private directory (0700, created if missing), the socket itself 0600,
 * both the agent's (root's), so only root reaches it; one agent per socket, held by a lock beside
 * it for the agent's whole life; a socket file left by an agent that died is replaced, a live one
 * is refused.
 * @module
 */
import { once } from 'node:events';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { ConflictError, fromSystemError, InvalidConfigError, StateError, systemErrorCode, TimeoutError } from '../errors.js';
import { withFileLock } from '../state/file-lock.js';
import { assertPrivate } from '../state/trust.js';
import type { AgentLog } from './log.js';

/** sun_path holds 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Create the socket's directory 0700, or check that the one there is a directory of ours that nobody else can write to. */
function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromSystemError(`create socket directory ${dir}`, err);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new StateError(`socket directory ${dir} is not a directory`);
  assertPrivate(st, `socket directory ${dir}`);
}

/** Whether something accepts connections on the unix socket at `path`. */
async function listening(path: string): Promise<boolean> {
  const probe = connect(path);
  try {
    await once(probe, 'connect');
    return true;
  } catch (err) {
    if (systemErrorCode(err) === 'ECONNREFUSED') return false;
    throw fromSystemError(`connect to ${path}`, err);
  } finally {
    probe.destroy();
  }
}

/** Remove a socket file nobody listens on; refuse anything else at `path`. */
async function clearStale(path: string, log: AgentLog): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return;
    throw fromSystemError(`stat ${path}`, err);
  }
  if (!st.isSocket()) throw new ConflictError(`${path} exists and is not a socket; remove it or give another --socket`);
  if (await listening(path)) throw new ConflictError(`another process listens on ${path}`);
  unlinkSync(path);
  log.write('stale-socket', `removed the stale socket ${path}: nothing listened on it`, { socket: path });
}

/**
 * Run `fn` (the agent's life) as the one agent of socket `path`, its directory ready and no stale
 * socket in the way.
 * @throws {ConflictError} when another agent holds the socket
 */
export async function asSocketOwner<T>(path: string, log: AgentLog, fn: () => Promise<T>): Promise<T> {
  if (!isAbsolute(path)) throw new InvalidConfigError(`socket path "${path}" must be absolute`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new InvalidConfigError(`socket path "${path}" is longer than the ${MAX_SOCKET_PATH} bytes a unix socket address holds`);
  ensurePrivateDir(dirname(path));
  const lock = `${path}.lock`;
  const state = { owner: false };
  try {
    return await withFileLock(lock, async () => {
      state.owner = true;
      await clearStale(path, log);
      return fn();
    }, { timeoutMs: 0 });
  } catch (err) {
    if (!state.owner && err instanceof TimeoutError) throw new ConflictError(`another ctnet agent runs on ${path} (it holds ${lock})`, { cause: err });
    throw err;
  }
}

/** Listen on `path`, the socket created 0600 (the umask is narrowed around the bind, which listen() does at once). */
export async function listenPrivate(server: Server, path: string): Promise<void> {
  const umask = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(umask);
  }
  try {
    await once(server, 'listening');
  } catch (err) {
    throw fromSystemError(`listen on ${path}`, err);
  }
  chmodSync(path, 0o600);
}

/** Remove the socket file at the end of the agent's life. */
export function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (systemErrorCode(err) !== 'ENOENT') throw fromSystemError(`remove socket ${path}`, err);
  }
}
