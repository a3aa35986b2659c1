/**
 * Which half-made endpoint records belong to a live process. Every connect holds its endpoint's
 * lock (`STATE_DIR/locks/endpoint-<id>.lock`, flock) from before the record is written until the
 * endpoint is ready or undone, and every removal holds it while it works; the holder deletes the
 * file when the record no longer needs it (ready, or gone), so only half-made records have one. A
 * record that is `creating` or `removing` while nobody holds its lock was left by a process that
 * was killed, and the next connect of the container, its disconnect or `gc` may take it over. The
 * kernel drops a flock when its holder dies, however it dies, so no age or pid is guessed at.
 * @module
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { type HeldFileLock, removableLock, tryRemovableLock } from './file-lock.js';
import type { StateStore } from './store.js';

const LOCK_FILE = /^endpoint-([0-9a-f]+)\.lock$/;

/** A held endpoint lock. */
export interface EndpointLock {
  /** Release it; the file goes unless the record is still half-made. */
  release(): void;
}

/**
 * The endpoint locks of one state directory.
 * @example
 * ```ts
 * const locks = new EndpointLocks('/var/lib/ctnet/locks', store, 30_000);
 * const alive = !(await locks.ifFree(ep.id, async () => { ... take over the half-made endpoint ... }));
 * ```
 */
export class EndpointLocks {
  readonly #dir: string;
  readonly #store: StateStore;
  readonly #timeoutMs: number;

  constructor(dir: string, store: StateStore, timeoutMs: number) {
    this.#dir = dir;
    this.#store = store;
    this.#timeoutMs = timeoutMs;
  }

  /** Lock a new endpoint id, before its record is written. */
  holdNew(id: string): EndpointLock {
    const held = tryRemovableLock(this.#path(id));
    // Ids are random: a holder of a new one is a bug, not a race.
    if (held === undefined) throw new StateError(`the lock of new endpoint ${id} is held by another process`);
    return this.#wrap(id, held);
  }

  /** Run `fn` holding the endpoint's lock, waiting (up to the lock timeout) for a live holder to finish. */
  async with<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const lock = this.#wrap(id, await removableLock(this.#path(id), { timeoutMs: this.#timeoutMs }));
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  /** Run `fn` holding the endpoint's lock if no live process holds it; false, without running it, when one does. */
  async ifFree(id: string, fn: () => Promise<void>): Promise<boolean> {
    const held = tryRemovableLock(this.#path(id));
    if (held === undefined) return false;
    const lock = this.#wrap(id, held);
    try {
      await fn();
      return true;
    } finally {
      lock.release();
    }
  }

  /** The ids that have a lock file: half-made records, live connects, and files a kill left behind. */
  listed(): string[] {
    return readdirSync(this.#dir).flatMap((name) => LOCK_FILE.exec(name)?.[1] ?? []);
  }

  #path(id: string): string {
    return join(this.#dir, `endpoint-${id}.lock`);
  }

  #wrap(id: string, held: HeldFileLock): EndpointLock {
    return { release: () => { held.release({ remove: this.#settled(id) }); } };
  }

  /** Whether the record needs no lock file any more: ready, or gone. */
  #settled(id: string): boolean {
    const status = this.#store.getEndpointById(id)?.status;
    return status === undefined || status === 'ready';
  }
}
