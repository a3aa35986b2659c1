/**
 * An exclusive advisory lock on a file, shared by every ctnet process using one state directory.
 * It serialises changes that must not interleave across processes but cannot sit inside a SQLite
 * transaction, such as an nftables read-then-write.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromSystemError, TimeoutError } from '../errors.js';
import { native } from '../native/binding.js';

/** Run `fn` while holding the lock on `path` (created if missing); waits up to `timeoutMs` for it. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (err) {
    throw fromSystemError(`open lock file ${path}`, err);
  }
  try {
    const deadline = Date.now() + timeoutMs;
    // Polling keeps the event loop free; a blocking flock would stall every other task meanwhile.
    for (let delay = 1; !native.flock(fd, true, false); delay = Math.min(delay * 2, 20)) {
      if (Date.now() > deadline) throw new TimeoutError(`lock ${path}: still held by another process after ${timeoutMs} ms`);
      await sleep(delay);
    }
    return await fn();
  } finally {
    closeSync(fd);
  }
}
