/**
 * The agent's one engine, kept open between requests, and the rule of when it may serve one: the
 * request means the state directory it serves, that directory is still private, and its database
 * is still the file the engine opened. Otherwise the agent steps aside (421) and the caller runs
 * the call in its own process, which then opens exactly what an agent-less ctnet would.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { lstatSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { errorMessage, systemErrorCode } from '../errors.js';
import type { HostChanges } from '../client/api.js';
import { Ctnet } from '../index.js';
import { stateDirOf } from '../state/state-dir.js';
import { STATE_DB_FILE } from '../state/store.js';
import { assertPrivateDir, ensurePrivateFile } from '../state/trust.js';
import type { AgentLog } from './log.js';

/** The agent does not serve this request and has done nothing for it: answered 421. */
export class Misdirected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Misdirected';
  }
}

/** What the engine changed on the host for the request in whose async context it runs. */
const requestChanges = new AsyncLocalStorage<HostChanges>();

/** Run `fn` with every host change the engine makes for it pushed to `changes` (concurrent requests keep theirs apart). */
export function collectingHostChanges<T>(changes: HostChanges, fn: () => Promise<T>): Promise<T> {
  return requestChanges.run(changes, fn);
}

/** Device and inode of a file, or undefined when there is none. */
function fileIdentity(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    return `${st.dev}:${st.ino}`;
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export class WarmEngine {
  /** The state directory served, absolute and normalised. */
  readonly stateDir: string;
  readonly #dbPath: string;
  readonly #log: AgentLog;
  #ct: Ctnet | undefined;
  #dbIdentity: string | undefined;
  #inFlight = 0;

  /** Open the engine on `stateDir` (as `--state-dir` gave it: undefined means the environment's or the default). */
  constructor(stateDir: string | undefined, log: AgentLog) {
    const given = stateDirOf(stateDir);
    this.#log = log;
    this.#open(given);
    this.stateDir = resolve(given);
    this.#dbPath = join(this.stateDir, STATE_DB_FILE);
  }

  #open(dir: string): Ctnet {
    const ct = Ctnet.open({
      stateDir: dir,
      onSysctlChange: (change) => {
        this.#log.sysctl(change);
        requestChanges.getStore()?.sysctlChanges.push(change);
      },
      onHostChange: (change) => {
        this.#log.hostChange(change);
        requestChanges.getStore()?.hostChanges.push(change);
      },
    });
    this.#log.follow(ct);
    this.#ct = ct;
    this.#dbIdentity = fileIdentity(join(dir, STATE_DB_FILE));
    return ct;
  }

  /**
   * Run `fn` with the engine, for a request that means `stateDir`.
   * @throws {Misdirected} when the agent does not serve it, before anything is done
   */
  async use<T>(stateDir: string, fn: (ct: Ctnet) => Promise<T>): Promise<T> {
    if (!isAbsolute(stateDir) || resolve(stateDir) !== this.stateDir) throw new Misdirected(`the agent serves state directory ${this.stateDir}, not ${stateDir}`);
    const ct = this.#current();
    this.#inFlight++;
    try {
      return await fn(ct);
    } finally {
      this.#inFlight--;
    }
  }

  /**
   * The engine, once the state directory passed the checks an engine makes when it opens (a few
   * stats). A database that was deleted or replaced is opened anew when no request is using the
   * old one; until then requests go elsewhere.
   */
  #current(): Ctnet {
    let identity: string | undefined;
    try {
      assertPrivateDir(this.stateDir);
      identity = fileIdentity(this.#dbPath);
      if (identity !== undefined) ensurePrivateFile(this.#dbPath);
    } catch (err) {
      throw new Misdirected(`state directory ${this.stateDir} cannot be served: ${errorMessage(err)}`);
    }
    if (this.#ct !== undefined && identity === this.#dbIdentity) return this.#ct;
    if (this.#inFlight > 0) throw new Misdirected(`the state database ${this.#dbPath} was replaced; the agent opens the new one once its requests in flight end`);
    this.#ct?.close();
    this.#ct = undefined;
    try {
      const ct = this.#open(this.stateDir);
      this.#log.write('engine-reopened', `the state database ${this.#dbPath} was ${identity === undefined ? 'deleted' : 'replaced'}; opened it anew`);
      return ct;
    } catch (err) {
      throw new Misdirected(`open state directory ${this.stateDir}: ${errorMessage(err)}`);
    }
  }

  close(): void {
    this.#ct?.close();
    this.#ct = undefined;
  }
}
