/**
 * Typed errors of ctnet. Every error carries a stable `code`; callers branch on the code or on a
 * predicate (`isNotFound`), never on message text. Instances are branded with a registry symbol so
 * that `instanceof` also works across two installed copies of the package.
 * @module
 */
import { getSystemErrorMap } from 'node:util';

export type CtnetErrorCode =
  | 'CTNET_NETLINK'
  | 'CTNET_NFT'
  | 'CTNET_IPAM_EXHAUSTED'
  | 'CTNET_INVALID_CONFIG'
  | 'CTNET_NOT_FOUND'
  | 'CTNET_CONFLICT'
  | 'CTNET_TEARDOWN'
  | 'CTNET_STATE'
  | 'CTNET_SYSTEM'
  | 'CTNET_TIMEOUT';

const kCtnetError = Symbol.for('ctnet.error');

export interface CtnetErrorOptions {
  cause?: unknown;
}

/**
 * Base class of every error ctnet raises on purpose. Each subclass narrows `code` to its own, so
 * `err instanceof NotFoundError` also tells the compiler `err.code === 'CTNET_NOT_FOUND'`.
 */
export class CtnetError<C extends CtnetErrorCode = CtnetErrorCode> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options: CtnetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, kCtnetError, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === CtnetError) {
      return typeof value === 'object' && value !== null && kCtnetError in value;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Bad user input; raised before anything is changed. CNI error code 7. */
export class InvalidConfigError extends CtnetError<'CTNET_INVALID_CONFIG'> {
  constructor(message: string, options: CtnetErrorOptions = {}) {
    super('CTNET_INVALID_CONFIG', message, options);
  }
}

/** A named object (network, endpoint, namespace, link) does not exist. */
export class NotFoundError extends CtnetError<'CTNET_NOT_FOUND'> {
  constructor(message: string, options: CtnetErrorOptions = {}) {
    super('CTNET_NOT_FOUND', message, options);
  }
}

/** The request collides with something that exists (a name, an address, a port, a route). */
export class ConflictError extends CtnetError<'CTNET_CONFLICT'> {
  constructor(message: string, options: CtnetErrorOptions = {}) {
    super('CTNET_CONFLICT', message, options);
  }
}

/** No free address is left in a subnet. */
export class IpamExhaustedError extends CtnetError<'CTNET_IPAM_EXHAUSTED'> {
  constructor(message: string, options: CtnetErrorOptions = {}) {
    super('CTNET_IPAM_EXHAUSTED', message, options);
  }
}

/** The state database failed or holds something unexpected. */
export class StateError extends CtnetError<'CTNET_STATE'> {
  constructor(message: string, options: CtnetErrorOptions = {}) {
    super('CTNET_STATE', message, options);
  }
}

/** A system call outside netlink failed (namespace files, sysctls, mounts). */
export class SystemError extends CtnetError<'CTNET_SYSTEM'> {
  readonly errnoName: string | undefined;
  constructor(message: string, options: CtnetErrorOptions & { errnoName?: string } = {}) {
    super('CTNET_SYSTEM', message, options);
    this.errnoName = options.errnoName;
  }
}

/** The errno name (`'ENOENT'`) of an error thrown by node:fs or the native addon, if it has one. */
export function systemErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * The message of `err`, or its text when it is no `Error`, for one clause of a longer message.
 * @example
 * errorMessage(new Error('disk full')); // 'disk full'
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Wrap an error thrown by a system call (native addon or node:fs) with one clause of context. */
export function fromSystemError(context: string, err: unknown): SystemError {
  const code = systemErrorCode(err);
  const message = errorMessage(err);
  return new SystemError(`${context}: ${message}`, { cause: err, ...(code === undefined ? {} : { errnoName: code }) });
}

const errnoMap = getSystemErrorMap();

/**
 * glibc's strerror() text for the errnos netlink answers with, so messages read as iproute2's do
 * (`File exists`); libuv's own wording (`file already exists`) is the fallback for the rest.
 */
const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EINVAL: 'Invalid argument',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  ENAMETOOLONG: 'File name too long',
  ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported',
  EPROTONOSUPPORT: 'Protocol not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  ENOBUFS: 'No buffer space available',
  ENOTCONN: 'Transport endpoint is not connected',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  EMSGSIZE: 'Message too long',
};

/** Linux errnos libuv has no name for, which netlink still answers with. */
const LINUX_ONLY_ERRNOS: ReadonlyMap<number, readonly [string, string]> = new Map([
  [54, ['EXFULL', 'Exchange full']], // a bridge with no free port number
  [132, ['ERFKILL', 'Operation not possible due to RF-kill']],
]);

/** `17` → `{ name: 'EEXIST', text: 'File exists' }`; unknown numbers get a generic name. */
export function describeErrno(errno: number): { name: string; text: string } {
  const extra = LINUX_ONLY_ERRNOS.get(Math.abs(errno));
  if (extra !== undefined) return { name: extra[0], text: extra[1] };
  const entry = errnoMap.get(-Math.abs(errno));
  if (entry === undefined) return { name: `E${Math.abs(errno)}`, text: 'Unknown error' };
  // libuv names 95 ENOTSUP; the kernel headers and iproute2 call it EOPNOTSUPP.
  const name = Math.abs(errno) === 95 ? 'EOPNOTSUPP' : entry[0];
  return { name, text: STRERROR[name] ?? entry[1] };
}

export interface NetlinkErrorDetails {
  op: string;
  object?: string;
  errno: number;
  extack?: string;
}

/**
 * The kernel refused a netlink request.
 * Message: `RTM_NEWLINK veth-ab12 failed: EEXIST (File exists)`.
 */
export class NetlinkError extends CtnetError<'CTNET_NETLINK'> {
  readonly op: string;
  readonly object: string | undefined;
  readonly errno: number;
  readonly errnoName: string;
  readonly extack: string | undefined;

  constructor(details: NetlinkErrorDetails) {
    const { name, text } = describeErrno(details.errno);
    const what = details.object === undefined ? details.op : `${details.op} ${details.object}`;
    const ext = details.extack === undefined || details.extack === '' ? '' : `: ${details.extack}`;
    super('CTNET_NETLINK', `${what} failed: ${name} (${text})${ext}`);
    this.op = details.op;
    this.object = details.object;
    this.errno = Math.abs(details.errno);
    this.errnoName = name;
    this.extack = details.extack;
  }
}

/** A netlink request got no answer in time. */
export class TimeoutError extends CtnetError<'CTNET_TIMEOUT'> {
  constructor(message: string, options: CtnetErrorOptions = {}) {
    super('CTNET_TIMEOUT', message, options);
  }
}

/** `nft` rejected a transaction or could not be run. */
export class NftError extends CtnetError<'CTNET_NFT'> {
  readonly errnoName: string | undefined;
  readonly stderr: string;
  constructor(message: string, options: CtnetErrorOptions & { stderr: string; errnoName?: string }) {
    super('CTNET_NFT', message, options);
    this.stderr = options.stderr;
    this.errnoName = options.errnoName;
  }
}

/** Several undo or teardown steps failed; `errors` holds each one, flattened. */
export class TeardownError extends AggregateError {
  readonly code = 'CTNET_TEARDOWN' as const;
  constructor(errors: readonly unknown[], message: string) {
    super(flatten(errors), message);
    this.name = 'TeardownError';
    Object.defineProperty(this, kCtnetError, { value: true });
  }

  /** One error for several failures of one teardown: `remove network "n": first; second`. */
  static summarize(context: string, failures: readonly unknown[]): TeardownError {
    return new TeardownError(failures, `${context}: ${failures.map(errorMessage).join('; ')}`);
  }
}

function flatten(errors: readonly unknown[]): unknown[] {
  return errors.flatMap((e) => (e instanceof TeardownError ? flatten(e.errors) : [e]));
}

/**
 * Prefix an error with one clause of context. The result has the class and every field of `err`
 * (code, errno, errnoName, ...), so callers branch on it as on the original, and keeps the
 * original, with its stack, as `cause`.
 * @example
 * wrapError('connect "c1" to network "n"', netlinkErr).message; // 'connect "c1" to network "n": RTM_NEWLINK ...'
 */
export function wrapError(context: string, err: unknown): Error {
  if (!(err instanceof Error)) return new Error(`${context}: ${String(err)}`);
  const wrapped = Object.create(Object.getPrototypeOf(err) as object, Object.getOwnPropertyDescriptors(err)) as Error;
  Object.defineProperty(wrapped, 'message', { value: `${context}: ${err.message}`, writable: true, configurable: true });
  Object.defineProperty(wrapped, 'cause', { value: err, writable: true, configurable: true });
  Error.captureStackTrace(wrapped, wrapError);
  return wrapped;
}

/** True for a netlink ENOENT/ENODEV/ESRCH or a ctnet NotFoundError. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof NetlinkError) return ['ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL'].includes(err.errnoName);
  if (err instanceof NftError) return err.errnoName === 'ENOENT';
  return err instanceof CtnetError && err.code === 'CTNET_NOT_FOUND';
}

/** True for a netlink or nft EEXIST. */
export function isAlreadyExists(err: unknown): boolean {
  return (err instanceof NetlinkError || err instanceof NftError) && err.errnoName === 'EEXIST';
}
