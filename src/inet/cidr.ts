/**
 * Subnets in CIDR notation for IPv4 and IPv6, and the project's rule for which of a subnet's
 * addresses may be used by the gateway and the containers (`hostRange`).
 * @module
 */
import { InvalidConfigError } from '../errors.js';
import { familyBits, formatIp, parseIp, type IpAddress } from './ip.js';

/** A subnet; `network` has every host bit zero, which `parseCidr` enforces. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
}

/** An interface address with its prefix, as `ip addr` shows it: `10.68.0.1/24`. */
export interface IpWithPrefix {
  readonly ip: IpAddress;
  /** The subnet the address belongs to. */
  readonly cidr: Cidr;
}

/** The first and the last address that the gateway and the containers may use, both included. */
export interface HostRange {
  readonly first: IpAddress;
  readonly last: IpAddress;
}

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parse `address/prefix` into an address and a prefix length; `what` names the value in errors.
 * Host bits are not checked here.
 */
function splitPrefix(text: string, what: string): { ip: IpAddress; prefix: number } {
  const fail = (reason: string, cause?: unknown): never => {
    throw new InvalidConfigError(
      `invalid ${what} ${JSON.stringify(text)}: ${reason}`,
      cause === undefined ? {} : { cause },
    );
  };
  const slash = text.indexOf('/');
  if (slash === -1) return fail('missing prefix length');
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);

  let ip: IpAddress;
  try {
    ip = parseIp(addressText);
  } catch (err) {
    return fail(`${JSON.stringify(addressText)} is not an IP address`, err);
  }
  const bits = familyBits(ip.family);
  if (!PREFIX.test(prefixText) || Number(prefixText) > bits) {
    return fail(`prefix length ${JSON.stringify(prefixText)} is not a number from 0 to ${bits}`);
  }
  return { ip, prefix: Number(prefixText) };
}

function hostMask(family: 4 | 6, prefix: number): bigint {
  return (1n << BigInt(familyBits(family) - prefix)) - 1n;
}

function toCidr(ip: IpAddress, prefix: number): Cidr {
  return { family: ip.family, network: ip.value & ~hostMask(ip.family, prefix), prefix };
}

/**
 * Parse a subnet such as `10.68.0.0/24` or `fd00:68::/64`. The prefix length is required and the
 * host bits must be zero: `10.68.0.5/24` is most likely a typo for either the subnet or an
 * interface address, so it is refused with the corrected subnet in the message rather than
 * silently masked (use `parseIpWithPrefix` for interface addresses).
 *
 * @throws {InvalidConfigError} For example
 * `invalid subnet "10.68.0.5/24": host bits set, did you mean "10.68.0.0/24"?`.
 * @example
 * ```ts
 * parseCidr('10.68.0.0/24'); // { family: 4, network: 172228608n, prefix: 24 }
 * ```
 */
export function parseCidr(text: string): Cidr {
  const { ip, prefix } = splitPrefix(text, 'subnet');
  const cidr = toCidr(ip, prefix);
  if (cidr.network !== ip.value) {
    throw new InvalidConfigError(
      `invalid subnet ${JSON.stringify(text)}: host bits set, did you mean ${JSON.stringify(formatCidr(cidr))}?`,
    );
  }
  return cidr;
}

/**
 * Parse an interface address with its prefix length, such as `10.68.0.1/24`. Host bits are
 * allowed; `cidr` is the subnet the address is in.
 *
 * @throws {InvalidConfigError} `invalid interface address "x": ...` when the text does not parse.
 * @example
 * ```ts
 * const { ip, cidr } = parseIpWithPrefix('10.0.0.5/24');
 * formatIp(ip);     // '10.0.0.5'
 * formatCidr(cidr); // '10.0.0.0/24'
 * ```
 */
export function parseIpWithPrefix(text: string): IpWithPrefix {
  const { ip, prefix } = splitPrefix(text, 'interface address');
  return ipWithPrefix(ip, prefix);
}

/**
 * An interface address from an address and the prefix length it has on its interface.
 *
 * @example
 * ```ts
 * formatIpWithPrefix(ipWithPrefix(parseIp('10.68.0.2'), 24)); // '10.68.0.2/24'
 * ```
 */
export function ipWithPrefix(ip: IpAddress, prefix: number): IpWithPrefix {
  return { ip, cidr: toCidr(ip, prefix) };
}

/**
 * Format an interface address as `address/prefix`, as `ip addr` shows it.
 *
 * @example
 * ```ts
 * formatIpWithPrefix(parseIpWithPrefix('fd00::0002/64')); // 'fd00::2/64'
 * ```
 */
export function formatIpWithPrefix(a: IpWithPrefix): string {
  return `${formatIp(a.ip)}/${a.cidr.prefix}`;
}

/**
 * The address part of `address/prefix` text, unparsed; text without a prefix comes back as it is.
 *
 * @example
 * ```ts
 * withoutPrefix('10.68.0.2/24'); // '10.68.0.2'
 * withoutPrefix('10.68.0.2');    // '10.68.0.2'
 * ```
 */
export function withoutPrefix(text: string): string {
  const slash = text.indexOf('/');
  return slash === -1 ? text : text.slice(0, slash);
}

/**
 * The network address of the subnet, its first address.
 *
 * @example
 * ```ts
 * formatIp(cidrNetwork(parseCidr('10.68.0.0/24'))); // '10.68.0.0'
 * ```
 */
export function cidrNetwork(cidr: Cidr): IpAddress {
  return { family: cidr.family, value: cidr.network };
}

/**
 * Format a subnet as `network/prefix`, IPv6 in RFC 5952 form.
 *
 * @example
 * ```ts
 * formatCidr(parseCidr('FD00:0068:0::/64')); // 'fd00:68::/64'
 * ```
 */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidrNetwork(cidr))}/${cidr.prefix}`;
}

/**
 * True when the address is in the subnet; always false across families.
 *
 * @example
 * ```ts
 * cidrContains(parseCidr('10.68.0.0/24'), parseIp('10.68.0.7')); // true
 * ```
 */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return ip.family === cidr.family && (ip.value & ~hostMask(cidr.family, cidr.prefix)) === cidr.network;
}

/**
 * True when the two subnets share at least one address; always false across families.
 *
 * @example
 * ```ts
 * cidrOverlaps(parseCidr('10.0.0.0/8'), parseCidr('10.68.0.0/24')); // true
 * ```
 */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  // Two prefixes overlap exactly when the shorter one contains the other's network.
  const mask = ~hostMask(a.family, Math.min(a.prefix, b.prefix));
  return (a.network & mask) === (b.network & mask);
}

/**
 * Number of addresses in the subnet, network and broadcast included.
 *
 * @example
 * ```ts
 * cidrSize(parseCidr('10.68.0.0/30')); // 4n
 * ```
 */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(familyBits(cidr.family) - cidr.prefix);
}

/**
 * The last address of the subnet: the broadcast address for IPv4. IPv6 has no broadcast; there it
 * is simply the last address.
 *
 * @example
 * ```ts
 * formatIp(cidrBroadcast(parseCidr('10.68.0.0/24'))); // '10.68.0.255'
 * ```
 */
export function cidrBroadcast(cidr: Cidr): IpAddress {
  return { family: cidr.family, value: cidr.network | hostMask(cidr.family, cidr.prefix) };
}

/**
 * How many addresses the gateway and the containers may use (see `hostRange`); 0 for IPv4 /31
 * and /32 and for IPv6 /128.
 *
 * @example
 * ```ts
 * cidrHostCount(parseCidr('10.68.0.0/30')); // 2n: the gateway and one container
 * ```
 */
export function cidrHostCount(cidr: Cidr): bigint {
  const size = cidrSize(cidr);
  if (cidr.family === 4) return size >= 4n ? size - 2n : 0n;
  return size - 1n;
}

/**
 * The addresses the gateway and the containers may use. The network address is never handed
 * out; for IPv6 it is the subnet-router anycast address (RFC 4291 2.6.1). The IPv4 broadcast
 * address is never handed out either; IPv6 has no broadcast, so its range ends at the last
 * address. IPv4 /31 (RFC 3021 point-to-point links) would need both addresses for the two ends
 * and /32 has just one, so neither can hold a gateway and containers and both are refused.
 *
 * @throws {InvalidConfigError} When the subnet has no usable address (IPv4 /31 and /32, IPv6 /128).
 * @example
 * ```ts
 * const { first, last } = hostRange(parseCidr('10.68.0.0/24')); // 10.68.0.1 .. 10.68.0.254
 * ```
 */
export function hostRange(cidr: Cidr): HostRange {
  const count = cidrHostCount(cidr);
  if (count === 0n) {
    const reserved = cidr.family === 4 ? 'the network and broadcast addresses' : 'the network address';
    throw new InvalidConfigError(
      `subnet ${JSON.stringify(formatCidr(cidr))} is too small: it has no address besides ${reserved}`,
    );
  }
  const first = cidr.network + 1n;
  return { first: { family: cidr.family, value: first }, last: { family: cidr.family, value: first + count - 1n } };
}

/**
 * The first usable address of the subnet (see `hostRange`).
 *
 * @throws {InvalidConfigError} When the subnet has no usable address.
 * @example
 * ```ts
 * formatIp(cidrFirstHost(parseCidr('10.68.0.0/24'))); // '10.68.0.1'
 * ```
 */
export function cidrFirstHost(cidr: Cidr): IpAddress {
  return hostRange(cidr).first;
}

/**
 * The last usable address of the subnet (see `hostRange`).
 *
 * @throws {InvalidConfigError} When the subnet has no usable address.
 * @example
 * ```ts
 * formatIp(cidrLastHost(parseCidr('10.68.0.0/24'))); // '10.68.0.254'
 * formatIp(cidrLastHost(parseCidr('fd00::/64')));    // 'fd00::ffff:ffff:ffff:ffff'
 * ```
 */
export function cidrLastHost(cidr: Cidr): IpAddress {
  return hostRange(cidr).last;
}
