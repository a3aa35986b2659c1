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
  | 'CTNET_IPTABLES'
  | 'CTNET_HOST'
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

export interface SystemErrorOptions extends CtnetErrorOptions {
  /** The errno, positive or negative (node:fs reports -2 for ENOENT). */
  errno?: number;
  /** Default: the name {@link describeErrno} gives `errno`. */
  errnoName?: string;
  syscall?: string;
}

/** A system call outside netlink failed (namespace files, sysctls, mounts, sockets). */
export class SystemError extends CtnetError<'CTNET_SYSTEM'> {
  /** The errno's name, e.g. `'ENOENT'`. */
  readonly errnoName: string | undefined;
  /** The positive errno, e.g. `2`. */
  readonly errno: number | undefined;
  /** The call that failed, e.g. `'open'`, `'setns'`, `'sendto'`. */
  readonly syscall: string | undefined;
  constructor(message: string, options: SystemErrorOptions = {}) {
    super('CTNET_SYSTEM', message, options);
    this.errno = options.errno === undefined ? undefined : Math.abs(options.errno);
    this.errnoName = options.errnoName ?? (this.errno === undefined ? undefined : describeErrno(this.errno).name);
    this.syscall = options.syscall;
  }
}

/** errno and syscall of an error thrown by node:fs (negative errno) or the native addon (positive). */
function systemCall(err: unknown): { errno: number; syscall: string } | undefined {
  if (typeof err !== 'object' || err === null || !('errno' in err) || !('syscall' in err)) return undefined;
  const { errno, syscall } = err;
  return typeof errno === 'number' && typeof syscall === 'string' ? { errno, syscall } : undefined;
}

/**
 * The errno name (`'ENOENT'`) of an error thrown by node:fs or the native addon, if it has one;
 * from {@link describeErrno}, so node:fs and the addon name a number alike.
 */
export function systemErrorCode(err: unknown): string | undefined {
  const call = systemCall(err);
  return call === undefined ? undefined : describeErrno(call.errno).name;
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
  return new SystemError(`${context}: ${errorMessage(err)}`, { cause: err, ...systemCall(err) });
}

const errnoMap = getSystemErrorMap();

/**
 * glibc's strerror() text where libuv words an errno otherwise (libuv: `file already exists`), so
 * messages read as iproute2's do (`File exists`). For every other errno netlink or the addon meets,
 * glibc's text is libuv's with a capital letter.
 */
const STRERROR: Readonly<Record<string, string>> = {
  EIO: 'Input/output error',
  ENOMEM: 'Cannot allocate memory',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  EISDIR: 'Is a directory',
  ENFILE: 'Too many open files in system',
  ETXTBSY: 'Text file busy',
  ESPIPE: 'Illegal seek',
  ERANGE: 'Numerical result out of range',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EISCONN: 'Transport endpoint is already connected',
  ENOTCONN: 'Transport endpoint is not connected',
  EHOSTUNREACH: 'No route to host',
  EALREADY: 'Operation already in progress',
};

/** Linux errnos libuv has no name for, which netlink or the addon's system calls still answer with. */
const LINUX_ONLY_ERRNOS: ReadonlyMap<number, readonly [string, string]> = new Map([
  [8, ['ENOEXEC', 'Exec format error']], // execInNetns of a file that is no program
  [37, ['ENOLCK', 'No locks available']], // flock
  [54, ['EXFULL', 'Exchange full']], // a bridge with no free port number
  [116, ['ESTALE', 'Stale file handle']], // a state or namespace file on NFS
  [122, ['EDQUOT', 'Disk quota exceeded']], // creating a namespace or state file
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
  return { name, text: STRERROR[name] ?? entry[1].charAt(0).toUpperCase() + entry[1].slice(1) };
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

/** `ctnet doctor` found something on the host that breaks ctnet's networks (a check failed), or could not look (not root). */
export class HostError extends CtnetError<'CTNET_HOST'> {
  constructor(message: string, options: CtnetErrorOptions = {}) {
    super('CTNET_HOST', message, options);
  }
}

/**
 * `iptables-legacy-save` or `-restore` (or their ip6tables twins) failed or could not be run:
 * ctnet's only way to x_tables, the rule tables of legacy iptables that nft cannot see.
 */
export class IptablesError extends CtnetError<'CTNET_IPTABLES'> {
  readonly stderr: string;
  constructor(message: string, options: CtnetErrorOptions & { stderr: string }) {
    super('CTNET_IPTABLES', message, options);
    this.stderr = options.stderr;
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
