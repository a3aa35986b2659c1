/**
 * IPv4 and IPv6 addresses as `{ family, value }` with the address held in a bigint, so that both
 * families share one arithmetic (masking, +1, comparison) without a 128-bit integer type.
 *
 * Parsing is strict on purpose: an address that the kernel, iproute2 and this module would read
 * differently (`010.0.0.1` is octal to inet_aton, `fe80::1%eth0` carries a zone) is rejected
 * instead of guessed at.
 * @module
 */
import { InvalidConfigError } from '../errors.js';

/** An IP address; `value` is the address as an unsigned integer in host order. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/**
 * Number of bits in an address of the family.
 *
 * @example
 * ```ts
 * familyBits(6); // 128
 * ```
 */
export function familyBits(family: 4 | 6): 32 | 128 {
  return family === 4 ? 32 : 128;
}

// A decimal octet without leading zeros: "0", "7", "42", "255". inet_aton would read "010" as
// octal 8, so a leading zero is ambiguous and rejected.
const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parse an IPv4 dotted quad or an IPv6 address in any RFC 4291 text form (`::`, embedded IPv4
 * such as `::ffff:1.2.3.4`). Zone ids (`%eth0`), surrounding blanks and brackets are rejected.
 *
 * @param text The address text.
 * @returns The parsed address.
 * @throws {InvalidConfigError} `invalid IP address "x"` when the text is not an address.
 * @example
 * ```ts
 * parseIp('10.68.0.1');  // { family: 4, value: 172228609n }
 * parseIp('2001:db8::1'); // { family: 6, value: 42540766411282592856903984951653826561n }
 * ```
 */
export function parseIp(text: string): IpAddress {
  const ip = tryParseIp(text);
  if (ip === undefined) throw new InvalidConfigError(`invalid IP address ${JSON.stringify(text)}`);
  return ip;
}

/**
 * True when `parseIp` accepts the text.
 *
 * @example
 * ```ts
 * isIp('10.0.0.1'); // true
 * isIp('10.0.0.01'); // false
 * ```
 */
export function isIp(text: string): boolean {
  return tryParseIp(text) !== undefined;
}

// Only IPv6 text contains a colon, so the colon alone decides which grammar applies.
function tryParseIp(text: string): IpAddress | undefined {
  const family = text.includes(':') ? 6 : 4;
  const value = family === 6 ? parseIpv6(text) : parseIpv4(text);
  return value === undefined ? undefined : { family, value };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  // Split at the first "::". A second one ("1::2::3", ":::") leaves an empty group in the tail,
  // which the group grammar refuses, so the zero fill below is never ambiguous.
  const gap = text.indexOf('::');
  const head = gap === -1 ? parseGroups(text, true) : parseGroups(text.slice(0, gap), false);
  const tail = gap === -1 ? [] : parseGroups(text.slice(gap + 2), true);
  if (head === undefined || tail === undefined) return undefined;

  const explicit = head.length + tail.length;
  // "::" stands for one or more zero groups (RFC 4291 2.2), so at most 7 groups may be written.
  if (gap === -1 ? explicit !== 8 : explicit > 7) return undefined;

  const groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

/**
 * Split one side of an IPv6 address into 16-bit groups. Only the last group of the whole
 * address (`allowIpv4`) may be a dotted quad, which fills two groups.
 */
function parseGroups(text: string, allowIpv4: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [index, part] of parts.entries()) {
    if (allowIpv4 && index === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      if (!IPV6_GROUP.test(part)) return undefined;
      groups.push(Number.parseInt(part, 16));
    }
  }
  return groups;
}

/**
 * Format an address. IPv6 follows RFC 5952: lower-case hex without leading zeros, the longest run
 * of two or more zero groups written as `::` (the leftmost one on a tie), and IPv4-mapped
 * addresses in mixed notation (`::ffff:1.2.3.4`, RFC 5952 section 5), as iproute2 prints them.
 *
 * @example
 * ```ts
 * formatIp(parseIp('2001:0DB8:0:0:1:0:0:1')); // '2001:db8::1:0:0:1'
 * ```
 */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return formatIpv4(ip.value);
  if (ip.value >> 32n === 0xffffn) return `::ffff:${formatIpv4(ip.value & 0xffffffffn)}`;

  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((ip.value >> shift) & 0xffffn));

  // Find the longest run of zero groups; a strict ">" keeps the leftmost run on a tie.
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (RFC 5952 4.2.2)
  let runStart = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      if (runStart === -1) runStart = i;
    } else if (runStart !== -1) {
      if (i - runStart > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart;
      }
      runStart = -1;
    }
  }

  const hex = (part: number[]): string => part.map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * {@link formatIp} for a list that repeats addresses (a range of published ports shares one): each
 * address object is formatted once.
 *
 * @example
 * ```ts
 * const text = ipFormatter();
 * ports.map((p) => text(p.containerIp));
 * ```
 */
export function ipFormatter(): (ip: IpAddress) => string {
  const texts = new Map<IpAddress, string>();
  return (ip) => {
    let text = texts.get(ip);
    if (text === undefined) texts.set(ip, (text = formatIp(ip)));
    return text;
  };
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/**
 * True when both addresses have the same family and value.
 *
 * @example
 * ```ts
 * ipEquals(parseIp('::1'), parseIp('0:0::1')); // true
 * ```
 */
export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

/**
 * The address in network byte order: 4 bytes for IPv4, 16 for IPv6 (what netlink's IFA_ADDRESS
 * and RTA_DST carry).
 *
 * @example
 * ```ts
 * ipToBytes(parseIp('10.0.0.1')); // <Buffer 0a 00 00 01>
 * ```
 */
export function ipToBytes(ip: IpAddress): Buffer {
  const length = familyBits(ip.family) / 8;
  const bytes = Buffer.alloc(length);
  let rest = ip.value;
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

/**
 * Read an address from network byte order; the length picks the family.
 *
 * @throws {RangeError} When the length is neither 4 nor 16 (a caller's bug, not user input).
 * @example
 * ```ts
 * formatIp(ipFromBytes(Buffer.from([10, 0, 0, 1]))); // '10.0.0.1'
 * ```
 */
export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new RangeError(`an IP address is 4 or 16 bytes long, got ${bytes.length}`);
  }
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return { family: bytes.length === 4 ? 4 : 6, value };
}
