/**
 * Address allocation inside one subnet: which address a container gets. Pure logic; the caller
 * owns the storage, answers `isTaken` from it, and records the result.
 * @module
 */
import { ConflictError, InvalidConfigError, IpamExhaustedError } from '../errors.js';
import { cidrBroadcast, cidrContains, cidrHostCount, formatCidr, hostRange, type Cidr } from '../inet/cidr.js';
import { formatIp, ipEquals, type IpAddress } from '../inet/ip.js';

/** Input of `allocateAddress`. */
export interface AllocateOptions {
  /** The subnet to allocate from. */
  subnet: Cidr;
  /** The gateway of the subnet; never handed out. */
  gateway: IpAddress;
  /** True for addresses held by others. */
  isTaken(ip: IpAddress): boolean;
  /** The address handed out last in this subnet; the round robin continues after it. */
  last?: IpAddress;
  /** A static request: this address or an error, never another one. */
  requested?: IpAddress;
}

/**
 * Upper bound on the addresses one dynamic allocation looks at. A scan that starts after the last
 * allocation only meets this many taken addresses in a row if at least that many are held, far
 * more than one host runs containers; without the bound a nearly full IPv6 /64 (2^64 addresses)
 * would turn one allocation into an endless loop.
 */
export const MAX_ALLOCATION_PROBES = 65536;

const quote = JSON.stringify;

/**
 * Pick an address for a container.
 *
 * A static request (`requested`) is returned as is once it is checked: inside the subnet, not the
 * network, broadcast or gateway address, and not taken. Otherwise the allocation is round robin,
 * as CNI host-local does it: start after `last` (at the first host when there is no `last` or it
 * is outside the usable range), wrap around to the first host once, skip the gateway and taken
 * addresses. Handing out addresses in turn, rather than the lowest free one, keeps a released
 * address idle for as long as possible, so that traffic still in flight to a removed container
 * does not reach its successor. At most `MAX_ALLOCATION_PROBES` addresses are looked at.
 *
 * @throws {InvalidConfigError} When the subnet has no usable address, the gateway is not usable,
 * or the requested address is outside the subnet or reserved.
 * @throws {ConflictError} When the requested address is taken.
 * @throws {IpamExhaustedError} When no free address is found.
 * @example
 * ```ts
 * const held = new Set<bigint>();
 * const ip = allocateAddress({
 *   subnet: parseCidr('10.68.0.0/24'),
 *   gateway: parseIp('10.68.0.1'),
 *   isTaken: (candidate) => held.has(candidate.value),
 * }); // 10.68.0.2
 * ```
 */
export function allocateAddress(options: AllocateOptions): IpAddress {
  const { subnet, gateway } = options;
  validateGateway(subnet, gateway);
  if (options.requested !== undefined) return checkRequested(options, options.requested);

  const range = hostRange(subnet);
  const first = range.first.value;
  const last = range.last.value;
  const previous = options.last;
  // After the end of the range the turn wraps to the first host. A `last` outside the range
  // (another family, or a subnet that has changed since) tells nothing, so the scan starts over.
  let candidate =
    previous !== undefined && previous.family === subnet.family && previous.value >= first && previous.value < last
      ? previous.value + 1n
      : first;

  const rangeSize = last - first + 1n;
  const probes = rangeSize < BigInt(MAX_ALLOCATION_PROBES) ? Number(rangeSize) : MAX_ALLOCATION_PROBES;
  for (let i = 0; i < probes; i++) {
    const ip: IpAddress = { family: subnet.family, value: candidate };
    if (candidate !== gateway.value && !options.isTaken(ip)) return ip;
    candidate = candidate === last ? first : candidate + 1n;
  }

  if (BigInt(probes) < rangeSize) {
    throw new IpamExhaustedError(
      `no free address found in subnet ${quote(formatCidr(subnet))} after looking at ${probes} addresses`,
    );
  }
  throw new IpamExhaustedError(`no free address left in subnet ${quote(formatCidr(subnet))}`);
}

function checkRequested(options: AllocateOptions, requested: IpAddress): IpAddress {
  const { subnet, gateway } = options;
  const where = `in subnet ${quote(formatCidr(subnet))}`;
  const text = quote(formatIp(requested));
  if (!cidrContains(subnet, requested)) {
    throw new InvalidConfigError(`address ${text} is not ${where}`);
  }
  const reserved = reservedRole(subnet, requested) ?? (ipEquals(requested, gateway) ? 'gateway' : undefined);
  if (reserved !== undefined) {
    throw new InvalidConfigError(`address ${text} is the ${reserved} address ${where} and cannot be assigned`);
  }
  if (options.isTaken(requested)) {
    throw new ConflictError(`address ${text} is already in use ${where}`);
  }
  return { family: requested.family, value: requested.value };
}

/** Which reserved address of the subnet `ip` is, if any. `ip` must be inside the subnet. */
function reservedRole(subnet: Cidr, ip: IpAddress): 'network' | 'broadcast' | undefined {
  if (ip.value === subnet.network) return 'network';
  if (subnet.family === 4 && ip.value === cidrBroadcast(subnet).value) return 'broadcast';
  return undefined;
}

/**
 * Check that a gateway address is usable in the subnet: inside it and not the network or
 * broadcast address (see `hostRange`).
 *
 * @throws {InvalidConfigError} For example `gateway "10.1.0.1" is not in subnet "10.68.0.0/24"`.
 * @example
 * ```ts
 * validateGateway(parseCidr('10.68.0.0/24'), parseIp('10.68.0.1')); // passes
 * ```
 */
export function validateGateway(subnet: Cidr, gateway: IpAddress): void {
  const where = `in subnet ${quote(formatCidr(subnet))}`;
  const text = quote(formatIp(gateway));
  // Refuses IPv4 /31, /32 and IPv6 /128 with a message about the subnet, before any address check.
  hostRange(subnet);
  if (!cidrContains(subnet, gateway)) {
    throw new InvalidConfigError(`gateway ${text} is not ${where}`);
  }
  const reserved = reservedRole(subnet, gateway);
  if (reserved !== undefined) {
    throw new InvalidConfigError(`gateway ${text} is the ${reserved} address ${where}`);
  }
}

/**
 * The gateway a subnet gets when none is configured: its first host.
 *
 * @throws {InvalidConfigError} When no container address is left after the gateway (IPv4 /31 and
 * /32, IPv6 /127 and /128).
 * @example
 * ```ts
 * formatIp(defaultGateway(parseCidr('10.68.0.0/24'))); // '10.68.0.1'
 * ```
 */
export function defaultGateway(subnet: Cidr): IpAddress {
  if (cidrHostCount(subnet) < 2n) {
    throw new InvalidConfigError(
      `subnet ${quote(formatCidr(subnet))} is too small: it leaves no container address next to the gateway`,
    );
  }
  return hostRange(subnet).first;
}
