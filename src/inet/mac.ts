/**
 * Ethernet MAC addresses: parse, check, format and generate.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidConfigError } from '../errors.js';

const MAC_TEXT = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
/** Bit 0 of the first octet: group (multicast/broadcast) address. */
const MULTICAST_BIT = 0x01;
/** Bit 1 of the first octet: locally administered, so never equal to a vendor-assigned address. */
const LOCAL_BIT = 0x02;

function assertLength(mac: Uint8Array): void {
  if (mac.length !== 6) throw new RangeError(`a MAC address is 6 bytes long, got ${mac.length}`);
}

/**
 * Parse `aa:bb:cc:dd:ee:ff` (either case) into 6 bytes.
 *
 * @throws {InvalidConfigError} `invalid MAC address "x"` for any other text.
 * @example
 * ```ts
 * parseMac('02:42:AC:11:00:02'); // <Buffer 02 42 ac 11 00 02>
 * ```
 */
export function parseMac(text: string): Buffer {
  if (!MAC_TEXT.test(text)) throw new InvalidConfigError(`invalid MAC address ${JSON.stringify(text)}`);
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

/**
 * Format 6 bytes as lower-case `aa:bb:cc:dd:ee:ff`.
 *
 * @throws {RangeError} When the buffer is not 6 bytes long (a caller's bug).
 * @example
 * ```ts
 * formatMac(Buffer.from([2, 0x42, 0xac, 0x11, 0, 2])); // '02:42:ac:11:00:02'
 * ```
 */
export function formatMac(mac: Uint8Array): string {
  assertLength(mac);
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/**
 * Check that a MAC address can be given to an interface: a multicast address (or the broadcast
 * address) would be refused by the kernel with a bare EADDRNOTAVAIL, and all zeros is not an address.
 *
 * @throws {InvalidConfigError} `MAC address "01:00:5e:00:00:01" is not a unicast address`.
 * @throws {RangeError} When the buffer is not 6 bytes long.
 * @example
 * ```ts
 * assertUnicastMac(parseMac('02:42:ac:11:00:02')); // passes
 * ```
 */
export function assertUnicastMac(mac: Uint8Array): void {
  assertLength(mac);
  const first = mac[0] ?? 0;
  if ((first & MULTICAST_BIT) !== 0 || mac.every((byte) => byte === 0)) {
    throw new InvalidConfigError(`MAC address ${JSON.stringify(formatMac(mac))} is not a unicast address`);
  }
}

/**
 * A random unicast, locally administered MAC address (first octet `x2`, `x6`, `xa` or `xe`), which
 * cannot collide with a vendor-assigned address of a physical card.
 *
 * @example
 * ```ts
 * formatMac(randomMac()); // e.g. '5e:1c:07:9a:d3:40'
 * ```
 */
export function randomMac(): Buffer {
  const mac = randomBytes(6);
  mac[0] = ((mac[0] ?? 0) & ~MULTICAST_BIT) | LOCAL_BIT;
  return mac;
}

/**
 * A unicast, locally administered MAC address derived from `seed`: the same seed always gives the
 * same address, so a link made again (a bridge someone deleted) comes back with the MAC its
 * neighbours have cached.
 *
 * @example
 * ```ts
 * formatMac(derivedMac('bridge 0a1b2c3d4e5f6a7b')); // the same address on every call
 * ```
 */
export function derivedMac(seed: string): Buffer {
  const mac = createHash('sha256').update(seed).digest().subarray(0, 6);
  mac[0] = ((mac[0] ?? 0) & ~MULTICAST_BIT) | LOCAL_BIT;
  return Buffer.from(mac);
}
