/**
 * Advisory locks on files (flock), shared by every ctnet process using one state directory. They
 * serialise changes that must not interleave across processes but cannot sit inside a SQLite
 * transaction: an nftables read-then-write, or a network being set up while a container joins it.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromSystemError, TimeoutError } from '../errors.js';
import { native } from '../native/binding.js';

export interface FileLockOptions {
  /** Several shared holders may hold the lock at once; an exclusive one excludes everybody. */
  shared?: boolean;
  /** How long to wait for the lock; default 30 s. */
  timeoutMs?: number;
}

/** Run `fn` while holding the lock on `path` (created if missing). */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const exclusive = options.shared !== true;
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (err) {
    throw fromSystemError(`open lock file ${path}`, err);
  }
  try {
    const deadline = Date.now() + timeoutMs;
    // Polling keeps the event loop free; a blocking flock would stall every other task meanwhile.
    for (let delay = 1; !native.flock(fd, exclusive, false); delay = Math.min(delay * 2, 20)) {
      if (Date.now() > deadline) throw new TimeoutError(`lock ${path} is held by another process (waited ${timeoutMs} ms); try again later`);
      await sleep(delay);
    }
    return await fn();
  } finally {
    closeSync(fd);
  }
}
