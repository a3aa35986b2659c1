/**
 * ctnet's errors across the agent's socket: the agent sends an error as its message, code and the
 * fields of its class; the client builds the same class again from them, so that a command prints
 * and exits the same whether the agent or its own process ran the call.
 * @module
 */
import {
  ConflictError,
  CtnetError,
  type CtnetErrorCode,
  HostError,
  InvalidConfigError,
  IptablesError,
  IpamExhaustedError,
  NetlinkError,
  NftError,
  NotFoundError,
  StateError,
  SystemError,
  TeardownError,
  TimeoutError,
} from '../errors.js';
import type { WireError } from './api.js';

type Fields = NonNullable<WireError['fields']>;

/** Own fields that travel as the message, the code, or not at all. */
const NOT_FIELDS = new Set(['message', 'code', 'name', 'stack', 'cause', 'errors']);

/** The fields of an error's class: its own enumerable properties of a JSON primitive type. */
function fieldsOf(err: Error): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(err as unknown as Record<string, unknown>)) {
    if (NOT_FIELDS.has(key)) continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return out;
}

/** An error as the agent sends it. Anything that is not a ctnet error travels as `CTNET_INTERNAL`. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof TeardownError) return { error: err.message, code: err.code, errors: err.errors.map(errorToWire) };
  if (err instanceof CtnetError) {
    const fields = fieldsOf(err);
    return { error: err.message, code: (err as CtnetError).code, ...(Object.keys(fields).length === 0 ? {} : { fields }) };
  }
  return { error: err instanceof Error ? err.message : String(err), code: 'CTNET_INTERNAL' };
}

function text(fields: Fields, key: string): string | undefined {
  const v = fields[key];
  return typeof v === 'string' ? v : undefined;
}

function number(fields: Fields, key: string): number | undefined {
  const v = fields[key];
  return typeof v === 'number' ? v : undefined;
}

/** The message as sent: a class that words its own message (NetlinkError) gets it replaced. */
function withMessage<E extends Error>(err: E, message: string): E {
  err.message = message;
  return err;
}

const REBUILD: Readonly<Record<CtnetErrorCode, (message: string, fields: Fields, errors: readonly WireError[]) => Error>> = {
  CTNET_INVALID_CONFIG: (m) => new InvalidConfigError(m),
  CTNET_NOT_FOUND: (m) => new NotFoundError(m),
  CTNET_CONFLICT: (m) => new ConflictError(m),
  CTNET_IPAM_EXHAUSTED: (m) => new IpamExhaustedError(m),
  CTNET_STATE: (m) => new StateError(m),
  CTNET_TIMEOUT: (m) => new TimeoutError(m),
  CTNET_SYSTEM: (m, f) => {
    const errno = number(f, 'errno');
    const errnoName = text(f, 'errnoName');
    const syscall = text(f, 'syscall');
    return new SystemError(m, { ...(errno === undefined ? {} : { errno }), ...(errnoName === undefined ? {} : { errnoName }), ...(syscall === undefined ? {} : { syscall }) });
  },
  CTNET_NETLINK: (m, f) => {
    const object = text(f, 'object');
    const extack = text(f, 'extack');
    const details = { op: text(f, 'op') ?? '', errno: number(f, 'errno') ?? 0, ...(object === undefined ? {} : { object }), ...(extack === undefined ? {} : { extack }) };
    return withMessage(new NetlinkError(details), m);
  },
  CTNET_NFT: (m, f) => {
    const errnoName = text(f, 'errnoName');
    return new NftError(m, { stderr: text(f, 'stderr') ?? '', ...(errnoName === undefined ? {} : { errnoName }) });
  },
  CTNET_IPTABLES: (m, f) => new IptablesError(m, { stderr: text(f, 'stderr') ?? '' }),
  CTNET_HOST: (m) => new HostError(m),
  CTNET_TEARDOWN: (m, _f, errors) => new TeardownError(errors.map(errorFromWire), m),
};

/**
 * The error the agent sent, as the class it had: the same code, message and fields. A code this
 * side does not know (an agent of another version) gives a plain Error with the message.
 */
export function errorFromWire(wire: WireError): Error {
  const rebuild = Object.hasOwn(REBUILD, wire.code) ? REBUILD[wire.code as CtnetErrorCode] : undefined;
  return rebuild === undefined ? new Error(wire.error) : rebuild(wire.error, wire.fields ?? {}, wire.errors ?? []);
}
