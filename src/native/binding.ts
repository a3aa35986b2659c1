/**
 * The typed contract of the native addon (`native/src/addon.c`) and its loader. This is the ONLY
 * module that loads the addon; everything else imports `native` from here.
 *
 * The addon does system calls only. Each call is synchronous, and any switch into another network
 * namespace happens inside one call that switches back before it returns, so the process never stays
 * switched (a namespace belongs to an OS thread, and Node's main thread runs all JavaScript). The
 * `*Async` calls are the exception: they send or receive on libuv's pool, on a socket whose namespace
 * was fixed when it was opened, and never switch. `netlinkWatch` calls back from the event loop
 * (a libuv poll handle on the socket) whenever a socket has something to read.
 *
 * Failures throw (or reject with) a {@link NativeError}: `code` (`'EEXIST'`), `errno` (positive,
 * `17`), `syscall` (`'open'`), message `open failed: File exists`. The addon reports only the number;
 * the name and the text come from `describeErrno`, the one table that also names the kernel's netlink
 * errnos. Wrong argument types throw a `TypeError`.
 *
 * @example
 * ```ts
 * import { native } from './binding.js';
 * const fd = native.netlinkOpen(-1, 0); // NETLINK_ROUTE in the current namespace
 * try {
 *   native.netlinkSend(fd, request);
 *   const reply = native.netlinkRecv(fd, 1000); // Buffer, or null after 1 s
 * } finally {
 *   native.close(fd);
 * }
 * ```
 * @module
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describeErrno } from '../errors.js';

/** The error every failed system call of the addon throws. */
export interface NativeError extends Error {
  /** errno name from `describeErrno`, e.g. `'EEXIST'`; `'E<n>'` for numbers it does not name. */
  readonly code: string;
  /** Positive errno number, e.g. `17`. */
  readonly errno: number;
  /** The call that failed, e.g. `'setns'`, `'open'`, `'execvp'`. */
  readonly syscall: string;
}

/** True when `err` came from a failed system call in the addon. */
export function isNativeError(err: unknown): err is NativeError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeError>).code === 'string' &&
    typeof (err as Partial<NativeError>).errno === 'number' &&
    typeof (err as Partial<NativeError>).syscall === 'string'
  );
}

declare const watchBrand: unique symbol;

/** A socket being watched by {@link NativeBinding.netlinkWatch}; opaque. */
export interface NetlinkWatch {
  readonly [watchBrand]: true;
}

/** What {@link NativeBinding.netlinkDrain} took off a socket. */
export interface DrainedDatagrams {
  /** Each whole datagram from the kernel, in order. */
  datagrams: Buffer[];
  /**
   * The kernel dropped notifications since the last read because the receive buffer was full
   * (ENOBUFS): whatever state the consumer follows must be read again.
   */
  overrun: boolean;
}

/**
 * The functions of `ctnet_native.node`. A namespace argument `nsFd` is an open descriptor of a
 * network namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`); a negative `nsFd` means the
 * calling process's own namespace.
 */
export interface NativeBinding {
  /**
   * Opens a netlink socket of `protocol` (0 is NETLINK_ROUTE) inside the namespace `nsFd`, with
   * NETLINK_EXT_ACK and NETLINK_CAP_ACK on and 1 MiB buffers, bound to a kernel-chosen port id.
   * The socket stays in that namespace for its whole life. Returns the descriptor (close-on-exec).
   */
  netlinkOpen(nsFd: number, protocol: number): number;
  /** Sends one datagram to the kernel. */
  netlinkSend(fd: number, data: Uint8Array): void;
  /**
   * Receives the next whole datagram from the kernel; `null` once `timeoutMs` passes without one
   * (a negative timeout waits forever). Datagrams sent by other processes are dropped.
   */
  netlinkRecv(fd: number, timeoutMs: number): Buffer | null;
  /** The socket's port id: the `nlmsg_pid` of the kernel's replies to it. */
  netlinkPortId(fd: number): number;
  /**
   * A descriptor (close-on-exec) of the network namespace a socket lives in (`SIOCGSKNS`): pass it to
   * `netlinkOpen` for another socket there, then close it.
   */
  netlinkNetns(fd: number): number;
  /**
   * `netlinkSend` on a libuv pool thread, for requests the kernel takes long over (rtnetlink runs a
   * request inside the sender's sendmsg()). Leave the socket alone until the promise settles.
   */
  netlinkSendAsync(fd: number, data: Uint8Array): Promise<void>;
  /** `netlinkRecv` on a libuv pool thread. Leave the socket alone until the promise settles. */
  netlinkRecvAsync(fd: number, timeoutMs: number): Promise<Buffer | null>;
  /** Joins multicast group `group` (an RTNLGRP_* or NFNLGRP_* number) on a netlink socket. */
  netlinkAddMembership(fd: number, group: number): void;
  /** The datagrams queued on a socket, at most `max`, without waiting (none: an empty list). */
  netlinkDrain(fd: number, max: number): DrainedDatagrams;
  /**
   * Calls `onReadable(null)` from the event loop whenever the socket has something to read (level
   * triggered: again while anything is queued; drain it with `netlinkDrain`), or `onReadable(error)`
   * when polling the descriptor fails. No thread waits on the socket. What the callback throws is
   * an uncaught exception. Stop with `netlinkUnwatch` before closing the socket.
   */
  netlinkWatch(fd: number, onReadable: (err: NativeError | null) => void): NetlinkWatch;
  /** Stops a `netlinkWatch`; calling it again does nothing. */
  netlinkUnwatch(watch: NetlinkWatch): void;
  /** Closes a descriptor. */
  close(fd: number): void;
  /**
   * Creates a persistent network namespace bind-mounted at `path` (absolute), as `ip netns add`
   * does. Throws `EEXIST` (changing nothing) when `path` exists.
   */
  netnsCreate(path: string): void;
  /** Unmounts and removes a namespace file made by `netnsCreate`. Throws `ENOENT` when missing. */
  netnsDelete(path: string): void;
  /** Writes `value` to `/proc/sys/<key>` of namespace `nsFd`; `key` like `'net/ipv4/ip_forward'`. */
  sysctlWrite(nsFd: number, key: string, value: string): void;
  /** Reads `/proc/sys/<key>` of namespace `nsFd` (up to 4 KiB), without surrounding whitespace. */
  sysctlRead(nsFd: number, key: string): string;
  /**
   * Replaces this process with `argv[0]` (looked up in PATH) running in namespace `nsFd`, as a
   * spawned child would start: default signal dispositions, no blocked signals, stdio inherited and
   * blocking, other descriptors closed if close-on-exec. Returns only by throwing
   * (`syscall` `'setns'` or `'execvp'`, e.g. `ENOENT` for a missing command), with nothing changed.
   */
  execInNetns(nsFd: number, argv: readonly string[]): never;
  /**
   * Takes an advisory lock (flock) on an open file, shared or exclusive. With `wait` false it
   * returns false at once when another holder has it; closing the descriptor releases it.
   */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
}

const FUNCTIONS = [
  'netlinkOpen',
  'netlinkSend',
  'netlinkRecv',
  'netlinkPortId',
  'netlinkNetns',
  'netlinkSendAsync',
  'netlinkRecvAsync',
  'netlinkAddMembership',
  'netlinkDrain',
  'netlinkWatch',
  'netlinkUnwatch',
  'close',
  'netnsCreate',
  'netnsDelete',
  'sysctlWrite',
  'sysctlRead',
  'execInNetns',
  'flock',
] as const satisfies readonly (keyof NativeBinding)[];

function isNativeBinding(value: unknown): value is NativeBinding {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return FUNCTIONS.every((name) => typeof record[name] === 'function');
}

/** The package root: this file is `dist/src/native/binding.js`. */
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

function loadNative(): NativeBinding {
  const require = createRequire(import.meta.url);
  const candidates = ['build/Release/ctnet_native.node', 'build/Debug/ctnet_native.node'];
  const failures: string[] = [];
  for (const candidate of candidates) {
    const file = packageRoot + candidate;
    let loaded: unknown;
    try {
      loaded = require(file);
    } catch (err: unknown) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : '';
      failures.push(`${file}: ${code === 'MODULE_NOT_FOUND' ? 'not found' : String(err)}`);
      continue;
    }
    if (isNativeBinding(loaded)) return loaded;
    failures.push(`${file}: stale build, it lacks some of ${FUNCTIONS.join(', ')}`);
  }
  throw new Error(
    `cannot load the ctnet native addon (build it with "npx node-gyp rebuild"): ${failures.join('; ')}`,
  );
}

/**
 * The addon's failure (`{ errno: 17, syscall: 'open' }`) as a {@link NativeError}; anything else
 * (a `TypeError` for a wrong argument) unchanged.
 */
function named(err: unknown, callee: (...args: unknown[]) => unknown): unknown {
  if (!(err instanceof Error) || !('errno' in err) || typeof err.errno !== 'number' || !('syscall' in err) || typeof err.syscall !== 'string') {
    return err;
  }
  const { name, text } = describeErrno(err.errno);
  const error = Object.assign(new Error(`${err.syscall} failed: ${text}`), { code: name, errno: err.errno, syscall: err.syscall });
  Error.captureStackTrace(error, callee); // the stack starts at the caller, as a thrown one would
  return error;
}

/** `raw` with every function's failures, thrown or rejected, passed through {@link named}. */
function withNamedErrors(raw: NativeBinding): NativeBinding {
  const wrapped: Record<string, (...args: unknown[]) => unknown> = {};
  for (const name of FUNCTIONS) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- N-API functions do not use `this`
    const fn = raw[name] as (...args: unknown[]) => unknown;
    const call = (...args: unknown[]): unknown => {
      const [first, callback] = args;
      // The error a watch reports reaches its callback, not a caller: it is named here too.
      if (name === 'netlinkWatch' && typeof callback === 'function') {
        const onReadable = callback as (e: unknown) => void;
        args = [first, (err: unknown) => { onReadable(err === null ? null : named(err, onReadable)); }];
      }
      let result: unknown;
      try {
        result = fn(...args);
      } catch (err) {
        throw named(err, call);
      }
      if (!(result instanceof Promise)) return result;
      return result.catch((err: unknown) => {
        throw named(err, call);
      });
    };
    wrapped[name] = call;
  }
  return wrapped as unknown as NativeBinding;
}

/** The loaded addon. */
export const native: NativeBinding = withNamedErrors(loadNative());
