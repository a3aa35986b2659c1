/**
 * The state directory and its database decide what ctnet deletes and configures as root, so they
 * must be writable by nobody but the user ctnet runs as: a database another user can rewrite is a
 * list of orders from that user.
 * @module
 */
import { closeSync, constants, lstatSync, openSync, statSync, type Stats } from 'node:fs';
import { isAbsolute } from 'node:path';
import { InvalidConfigError, StateError, systemErrorCode } from '../errors.js';

/** Refuse a state directory given as a relative path: it would mean another one from every working directory. */
export function assertAbsoluteStateDir(dir: string): void {
  if (!isAbsolute(dir)) throw new InvalidConfigError(`state directory "${dir}" must be an absolute path`);
}

/** Refuse a file or directory (`stats` of it, named `what`) that is not this user's, or that others can write to. */
export function assertPrivate(stats: Stats, what: string): void {
  const uid = process.geteuid?.() ?? 0;
  if (stats.uid !== uid) throw new StateError(`${what} is owned by uid ${stats.uid}, not by uid ${uid} that ctnet runs as`);
  if ((stats.mode & 0o022) !== 0) {
    throw new StateError(`${what} is writable by ${(stats.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${(stats.mode & 0o777).toString(8)}); make it writable by its owner only`);
  }
}

/** The state directory must be a directory owned by this user and writable by nobody else. */
export function assertPrivateDir(dir: string): void {
  const stats = statSync(dir);
  if (!stats.isDirectory()) throw new StateError(`state directory ${dir} is not a directory`);
  assertPrivate(stats, `state directory ${dir}`);
}

/**
 * Create the database file 0600 when it is missing (SQLite would make it 0644, and its -wal and
 * -shm files take the main file's mode), then check it: a regular file, not a symlink, private.
 */
export function ensurePrivateFile(path: string): void {
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600));
  } catch (err) {
    if (systemErrorCode(err) !== 'EEXIST') throw err;
  }
  const stats = lstatSync(path);
  if (!stats.isFile()) throw new StateError(`state database ${path} is not a regular file`);
  assertPrivate(stats, `state database ${path}`);
}
