/**
 * Advisory locks on files (flock), shared by every ctnet process using one state directory. They
 * serialise changes that must not interleave across processes but cannot sit inside a SQLite
 * transaction: an nftables read-then-write, or a network being set up while a container joins it.
 * @module
 */
import { closeSync, fstatSync, openSync, rmSync, type Stats, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromSystemError, systemErrorCode, TimeoutError } from '../errors.js';
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
  const fd = openLockFile(path);
  try {
    await waitFor(path, timeoutMs, () => native.flock(fd, exclusive, false) || undefined);
    return await fn();
  } finally {
    closeSync(fd);
  }
}

/**
 * Run `fn` holding the lock on `path` if it is free now; false, without running `fn`, when another
 * holder has it. For work that a live holder is doing already.
 */
export async function ifFileLockFree(path: string, fn: () => Promise<void>, options: Pick<FileLockOptions, 'shared'> = {}): Promise<boolean> {
  const fd = openLockFile(path);
  try {
    if (!native.flock(fd, options.shared !== true, false)) return false;
    await fn();
    return true;
  } finally {
    closeSync(fd);
  }
}

function openLockFile(path: string): number {
  try {
    return openSync(path, 'a', 0o600);
  } catch (err) {
    throw fromSystemError(`open lock file ${path}`, err);
  }
}

/** An exclusive lock on a file, held until released. */
export interface HeldFileLock {
  /** Release the lock; with `remove`, delete the file first, while still holding it. */
  release(options?: { remove?: boolean }): void;
}

/**
 * Take the exclusive lock on `path` (created if missing) if nobody holds it; undefined when another
 * holder has it. Its holders may delete the file when done: a lock won on a file that is no longer
 * the one at `path` (deleted by the holder before) locks nothing, so it is dropped and taken again
 * on the file there now.
 */
export function tryRemovableLock(path: string): HeldFileLock | undefined {
  for (;;) {
    const fd = openLockFile(path);
    let held = false;
    try {
      if (!native.flock(fd, true, false)) return undefined;
      const mine = fstatSync(fd);
      const there = statIfPresent(path);
      if (there?.ino === mine.ino && there.dev === mine.dev) {
        held = true;
        return heldLock(path, fd);
      }
    } finally {
      if (!held) closeSync(fd);
    }
  }
}

/** {@link tryRemovableLock}, waiting for a live holder until `timeoutMs` (default 30 s) has passed. */
export function removableLock(path: string, options: Pick<FileLockOptions, 'timeoutMs'> = {}): Promise<HeldFileLock> {
  return waitFor(path, options.timeoutMs ?? 30_000, () => tryRemovableLock(path));
}

/** Poll `attempt` until it gives a value, or fail with the one lock timeout error. */
async function waitFor<T>(path: string, timeoutMs: number, attempt: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // Polling keeps the event loop free; a blocking flock would stall every other task meanwhile.
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    const got = attempt();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new TimeoutError(`lock ${path} is held by another process (waited ${timeoutMs} ms); try again later`);
    await sleep(delay);
  }
}

function heldLock(path: string, fd: number): HeldFileLock {
  let released = false;
  return {
    release: (options = {}) => {
      if (released) return;
      released = true;
      try {
        if (options.remove === true) rmSync(path, { force: true });
      } finally {
        closeSync(fd);
      }
    },
  };
}

function statIfPresent(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return undefined;
    throw fromSystemError(`stat lock file ${path}`, err);
  }
}
