/**
 * Network namespaces as handles: a container is referred to by a named namespace (iproute2's
 * /run/netns/NAME), a path to a namespace file, or `pid:N`. Opening one gives an fd that stays valid
 * while we use it, even if the name is removed meanwhile.
 * @module
 */
import { closeSync, constants, openSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, fromSystemError, InvalidConfigError, NotFoundError, systemErrorCode } from '../errors.js';
import { native } from '../native/binding.js';
import { RtnlHandle } from '../netlink/rtnl/handle.js';
import { validateNetnsName } from '../validate/names.js';

/** Where named namespaces live; the same directory iproute2 uses, so both tools see each other's. */
export const NETNS_RUN_DIR = '/run/netns';

/** statfs magic of nsfs, the filesystem behind /proc/PID/ns/* and their bind mounts. */
const NSFS_MAGIC = 0x6e736673;

export interface NetnsRef {
  /** What the user wrote: `net1`, `/proc/42/ns/net`, `pid:42`. */
  spec: string;
  kind: 'name' | 'path' | 'pid';
  path: string;
}

/** Parse a container reference without touching the system. */
export function parseNetnsRef(spec: string): NetnsRef {
  if (spec.startsWith('pid:')) {
    const pid = spec.slice(4);
    if (!/^[1-9][0-9]{0,9}$/.test(pid)) throw new InvalidConfigError(`invalid container "${spec}": expected pid:N with N a process id`);
    return { spec, kind: 'pid', path: `/proc/${pid}/ns/net` };
  }
  if (spec.includes('/')) return { spec, kind: 'path', path: spec };
  validateNetnsName(spec);
  return { spec, kind: 'name', path: join(NETNS_RUN_DIR, spec) };
}

/** An open network namespace. Close it when done; the namespace itself lives on. */
export class Netns {
  readonly ref: NetnsRef;
  readonly fd: number;
  #closed = false;

  private constructor(ref: NetnsRef, fd: number) {
    this.ref = ref;
    this.fd = fd;
  }

  /** Open a namespace by reference; NotFoundError if it does not exist, InvalidConfigError if it is no namespace. */
  static open(ref: NetnsRef): Netns {
    // libuv opens every file with O_CLOEXEC, so the fd never leaks into a child process.
    let fd: number;
    try {
      fd = openSync(ref.path, constants.O_RDONLY);
    } catch (err) {
      if (systemErrorCode(err) === 'ENOENT') {
        throw new NotFoundError(`container "${ref.spec}" not found: no network namespace at ${ref.path}`, { cause: err });
      }
      throw fromSystemError(`open network namespace "${ref.spec}"`, err);
    }
    try {
      if (statfsSync(ref.path).type !== NSFS_MAGIC) {
        throw new InvalidConfigError(`container "${ref.spec}": ${ref.path} is not a network namespace`);
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new Netns(ref, fd);
  }

  /** A new rtnetlink handle working inside this namespace. */
  openHandle(): RtnlHandle {
    return RtnlHandle.open({ netnsFd: this.fd });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.fd);
  }
}

/** Create a named namespace. Equivalent to: `ip netns add NAME`. */
export function createNamedNetns(name: string): void {
  validateNetnsName(name);
  try {
    native.netnsCreate(join(NETNS_RUN_DIR, name));
  } catch (err) {
    if (systemErrorCode(err) === 'EEXIST') {
      throw new ConflictError(`network namespace "${name}" already exists`, { cause: err });
    }
    throw fromSystemError(`create network namespace "${name}"`, err);
  }
}

/** Delete a named namespace. Equivalent to: `ip netns del NAME`. */
export function deleteNamedNetns(name: string): void {
  validateNetnsName(name);
  try {
    native.netnsDelete(join(NETNS_RUN_DIR, name));
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') {
      throw new NotFoundError(`network namespace "${name}" not found`, { cause: err });
    }
    throw fromSystemError(`delete network namespace "${name}"`, err);
  }
}

/** Names of the named namespaces, sorted. Equivalent to: `ip netns list`. */
export function listNamedNetns(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).sort();
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return [];
    throw fromSystemError(`list ${NETNS_RUN_DIR}`, err);
  }
}

/** Run a command inside a namespace, replacing this process. Equivalent to: `ip netns exec NS CMD...`. */
export function execInNetns(ns: Netns, argv: readonly string[]): never {
  try {
    return native.execInNetns(ns.fd, [...argv]);
  } catch (err) {
    throw fromSystemError(`exec "${argv[0] ?? ''}" in "${ns.ref.spec}"`, err);
  }
}

/** Write a sysctl in the process's own namespace (fd omitted) or inside another one. */
export function writeSysctl(key: string, value: string, ns?: Netns): void {
  try {
    native.sysctlWrite(ns?.fd ?? -1, key, value);
  } catch (err) {
    throw fromSystemError(`set sysctl ${key.replaceAll('/', '.')}=${value}`, err);
  }
}

export function readSysctl(key: string, ns?: Netns): string {
  try {
    return native.sysctlRead(ns?.fd ?? -1, key);
  } catch (err) {
    throw fromSystemError(`read sysctl ${key.replaceAll('/', '.')}`, err);
  }
}
