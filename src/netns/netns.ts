/**
 * Network namespaces as handles: a container is referred to by a named namespace (iproute2's
 * /run/netns/NAME), a path to a namespace file, or `pid:N`. Opening one gives an fd that stays valid
 * while we use it, even if the name is removed meanwhile.
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, fromSystemError, InvalidConfigError, NotFoundError, systemErrorCode } from '../errors.js';
import { native } from '../native/binding.js';
import { type Rtnl, RtnlHandle } from '../netlink/rtnl/handle.js';
import { validateNetnsName } from '../validate/names.js';

/** Where named namespaces live; the same directory iproute2 uses, so both tools see each other's. */
export const NETNS_RUN_DIR = '/run/netns';

/** statfs magic of nsfs, the filesystem behind /proc/PID/ns/* and their bind mounts. */
const NSFS_MAGIC = 0x6e736673;

export interface NetnsRef {
  /** What the user wrote: `net1`, `/proc/42/ns/net`, `pid:42`. */
  spec: string;
  kind: 'name' | 'path' | 'pid';
  /** The namespace file, absolute and without `.`, `..` or repeated slashes. */
  path: string;
}

/**
 * Parse a container reference without touching the system. A path must be absolute and may not
 * step through `.` or `..`: one namespace would otherwise have endless spellings, and a relative
 * path means something else from every working directory.
 */
export function parseNetnsRef(spec: string): NetnsRef {
  if (spec.startsWith('pid:')) {
    const pid = spec.slice(4);
    if (!/^[1-9][0-9]{0,9}$/.test(pid)) throw new InvalidConfigError(`invalid container "${spec}": expected pid:N with N a process id`);
    return { spec, kind: 'pid', path: `/proc/${pid}/ns/net` };
  }
  if (spec.includes('/')) {
    if (!spec.startsWith('/')) throw new InvalidConfigError(`invalid container "${spec}": a namespace path must be absolute`);
    const parts = spec.split('/').filter((p) => p !== '');
    if (parts.some((p) => p === '.' || p === '..')) {
      throw new InvalidConfigError(`invalid container "${spec}": a namespace path must not contain "." or ".."`);
    }
    if (spec.includes('\0')) throw new InvalidConfigError(`invalid container "${spec}": a namespace path must not contain a NUL character`);
    return { spec, kind: 'path', path: `/${parts.join('/')}` };
  }
  validateNetnsName(spec);
  return { spec, kind: 'name', path: join(NETNS_RUN_DIR, spec) };
}

/** Device and inode of a namespace file: what identifies a network namespace, however it is named. */
function identityOf(stat: { dev: number; ino: number }): string {
  return `${stat.dev}:${stat.ino}`;
}

/** The identity of the network namespace this process runs in. */
export function ownNetnsIdentity(): string {
  return identityOf(statSync('/proc/self/ns/net'));
}

/** An open container namespace, as the engine and its drivers use one. */
export interface ContainerNetns {
  readonly ref: NetnsRef;
  /** An fd of the namespace, as `IFLA_NET_NS_FD` takes it. */
  readonly fd: number;
  /** `dev:ino` of the namespace. */
  readonly identity: string;
  /** A new rtnetlink handle working inside the namespace. */
  openHandle(): Rtnl;
  close(): void;
}

/**
 * How the engine reaches namespaces other than its own: {@link ownNetnsAccess} is the real one,
 * the engine's unit tests give an in-memory fake.
 */
export interface NetnsAccess {
  /** As {@link Netns.openContainer}. */
  openContainer(ref: NetnsRef): ContainerNetns;
  /** As {@link netnsIdentity}. */
  identity(ref: NetnsRef): string | undefined;
  /** As {@link deleteNamedNetns}. */
  deleteNamed(name: string): void;
}

/** An open network namespace. Close it when done; the namespace itself lives on. */
export class Netns implements ContainerNetns {
  readonly ref: NetnsRef;
  readonly fd: number;
  /** `dev:ino` of the namespace: equal for every name, path and pid of one namespace. */
  readonly identity: string;
  #closed = false;

  private constructor(ref: NetnsRef, fd: number, identity: string) {
    this.ref = ref;
    this.fd = fd;
    this.identity = identity;
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
    let identity: string;
    try {
      if (statfsSync(ref.path).type !== NSFS_MAGIC) {
        throw new InvalidConfigError(`container "${ref.spec}": ${ref.path} is not a network namespace`);
      }
      // From the open fd, not the path: the path may name another namespace by now.
      identity = identityOf(fstatSync(fd));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new Netns(ref, fd, identity);
  }

  /**
   * Open a namespace to configure as a container: anything but the namespace ctnet itself runs in
   * (the host's, when ctnet runs on the host), however it is named (`pid:1`, `/proc/self/ns/net`).
   * @throws {InvalidConfigError} for the own namespace
   */
  static openContainer(ref: NetnsRef): Netns {
    const ns = Netns.open(ref);
    if (ns.identity === ownNetnsIdentity()) {
      ns.close();
      throw new InvalidConfigError(`container "${ref.spec}" is the network namespace ctnet runs in, not a container's`);
    }
    return ns;
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

/** The identity of the namespace a reference leads to now, or undefined when there is none. */
export function netnsIdentity(ref: NetnsRef): string | undefined {
  let ns: Netns;
  try {
    ns = Netns.open(ref);
  } catch {
    return undefined;
  }
  ns.close();
  return ns.identity;
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

/** The namespaces of this machine, through {@link Netns} and the named-namespace functions. */
export const ownNetnsAccess: NetnsAccess = {
  openContainer: (ref) => Netns.openContainer(ref),
  identity: (ref) => netnsIdentity(ref),
  deleteNamed: (name) => { deleteNamedNetns(name); },
};

/**
 * The sysctls of one namespace, read and written by `/proc/sys` path
 * (`net/ipv4/ip_forward`): {@link ownSysctls} are the real ones of the namespace ctnet runs in,
 * the engine's unit tests give an in-memory fake.
 */
export interface SysctlAccess {
  /** As {@link readSysctl}: a missing key fails. */
  read(key: string): string;
  /** As {@link readSysctlIfPresent}: undefined for a missing key. */
  readIfPresent(key: string): string | undefined;
  /** As {@link writeSysctl}. */
  write(key: string, value: string): void;
}

/** The sysctls of the namespace this process runs in. */
export const ownSysctls: SysctlAccess = {
  read: (key) => readSysctl(key),
  readIfPresent: (key) => readSysctlIfPresent(key),
  write: (key, value) => { writeSysctl(key, value); },
};

/**
 * A sysctl key as sysctl(8) names it: dots between the parts of the `/proc/sys` path, and any dot
 * inside a part (an interface named `eth0.100`) written as a slash.
 * @example
 * sysctlName('net/ipv6/conf/eth0.100/accept_ra'); // 'net.ipv6.conf.eth0/100.accept_ra'
 */
export function sysctlName(key: string): string {
  return key.split('/').map((part) => part.replaceAll('.', '/')).join('.');
}

/** Write a sysctl in the process's own namespace (fd omitted) or inside another one. */
export function writeSysctl(key: string, value: string, ns?: Netns): void {
  try {
    native.sysctlWrite(ns?.fd ?? -1, key, value);
  } catch (err) {
    throw fromSystemError(`set sysctl ${sysctlName(key)}=${value}`, err);
  }
}

export function readSysctl(key: string, ns?: Netns): string {
  try {
    return native.sysctlRead(ns?.fd ?? -1, key);
  } catch (err) {
    throw fromSystemError(`read sysctl ${sysctlName(key)}`, err);
  }
}

/**
 * Read a sysctl that may not exist: undefined for a missing key (an interface that is gone, or
 * has no IPv6 configuration), the value otherwise.
 */
export function readSysctlIfPresent(key: string, ns?: Netns): string | undefined {
  try {
    return native.sysctlRead(ns?.fd ?? -1, key);
  } catch (err) {
    if (systemErrorCode(err) === 'ENOENT') return undefined;
    throw fromSystemError(`read sysctl ${sysctlName(key)}`, err);
  }
}
