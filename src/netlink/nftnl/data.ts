/**
 * Set keys and map data as nf_tables stores them (`NFTA_DATA_VALUE`): the bytes of each field in
 * network byte order, and in a concatenation (`a . b . c`) each field padded with zeros to whole
 * 32-bit registers, because the kernel compares concatenated keys register by register. A single
 * field is not padded: the set's key (or data) length is exactly the field's size.
 * @module
 */
import { formatIp, ipFromBytes, ipToBytes, isIp, parseIp } from '../../inet/ip.js';
import { IPPROTO_TCP, IPPROTO_UDP, NFT_DATA_VALUE_MAXLEN, NFT_REG32_SIZE } from './constants.js';

/** One field of a key or of map data, by its nft type name. */
export type NftField =
  | { readonly type: 'ipv4_addr' | 'ipv6_addr'; readonly value: string }
  | { readonly type: 'inet_proto'; readonly value: number }
  | { readonly type: 'inet_service'; readonly value: number };

/** The nft type names {@link NftField} covers. */
export type NftFieldType = NftField['type'];

/** Size in bytes of one field, before any padding. */
export function fieldSize(type: NftFieldType): number {
  switch (type) {
    case 'ipv4_addr':
      return 4;
    case 'ipv6_addr':
      return 16;
    case 'inet_proto':
      return 1;
    case 'inet_service':
      return 2;
  }
}

/**
 * Size in bytes of a value of these field types: the field's own size for one field, whole
 * registers per field for a concatenation. The kernel checks an element against its set with it.
 *
 * @example
 * ```ts
 * valueSize(['inet_proto', 'inet_service']); // 8
 * valueSize(['inet_service']);               // 2
 * ```
 */
export function valueSize(types: readonly NftFieldType[]): number {
  if (types.length === 1 && types[0] !== undefined) return fieldSize(types[0]);
  return types.reduce((n, t) => n + roundToRegister(fieldSize(t)), 0);
}

/**
 * Encodes a key or map data value.
 *
 * @throws {RangeError} if a field is out of range for its type, there is no field, or the value
 *   outgrows NFT_DATA_VALUE_MAXLEN (a caller's bug: input is validated before it gets here).
 * @example
 * ```ts
 * encodeNftValue([{ type: 'inet_proto', value: 6 }, { type: 'inet_service', value: 8080 }]);
 * // <Buffer 06 00 00 00 1f 90 00 00>
 * encodeNftValue([{ type: 'inet_service', value: 80 }]); // <Buffer 00 50>
 * ```
 */
export function encodeNftValue(fields: readonly NftField[]): Buffer {
  const out = Buffer.alloc(encodedValueSize(fields));
  writeNftValue(fields, out, 0);
  return out;
}

/**
 * The size of {@link encodeNftValue}'s result, without encoding it.
 *
 * @throws {RangeError} as {@link encodeNftValue}, for the number of fields and the size.
 */
export function encodedValueSize(fields: readonly NftField[]): number {
  if (fields.length === 0) throw new RangeError('an nftables value needs at least one field');
  let size = 0;
  for (const f of fields) size += fields.length === 1 ? fieldSize(f.type) : roundToRegister(fieldSize(f.type));
  if (size > NFT_DATA_VALUE_MAXLEN) throw new RangeError(`an nftables value is at most ${NFT_DATA_VALUE_MAXLEN} bytes, got ${size}`);
  return size;
}

/**
 * Writes {@link encodeNftValue}'s bytes into `out` at `offset`, which must hold
 * {@link encodedValueSize} zero bytes there (the padding is not written); returns the offset after
 * the value. A batch of 65535 published ports encodes 131070 keys: writing them in place, with
 * plain stores, saves an allocation and a checked Buffer call per field.
 *
 * @throws {RangeError} as {@link encodeNftValue}.
 */
export function writeNftValue(fields: readonly NftField[], out: Buffer, offset: number): number {
  let pos = offset;
  for (const f of fields) {
    switch (f.type) {
      case 'ipv4_addr':
      case 'ipv6_addr':
        out.set(addressBytes(f.type, f.value), pos);
        break;
      case 'inet_proto':
        out[pos] = checkUint(f.value, 0xff, f.type);
        break;
      case 'inet_service': {
        const port = checkUint(f.value, 0xffff, f.type);
        out[pos] = port >>> 8;
        out[pos + 1] = port & 0xff;
        break;
      }
    }
    pos += fields.length === 1 ? fieldSize(f.type) : roundToRegister(fieldSize(f.type));
  }
  return pos;
}

/**
 * Decodes a key or map data value of the given field types (the inverse of
 * {@link encodeNftValue}).
 *
 * @throws {RangeError} if the length does not match the types or padding is not zero.
 * @example
 * ```ts
 * decodeNftValue(Buffer.from('0600000001bb0000', 'hex'), ['inet_proto', 'inet_service']);
 * // [{ type: 'inet_proto', value: 6 }, { type: 'inet_service', value: 443 }]
 * ```
 */
export function decodeNftValue(bytes: Buffer, types: readonly NftFieldType[]): NftField[] {
  if (types.length === 0) throw new RangeError('an nftables value needs at least one field');
  const expected = valueSize(types);
  if (bytes.length !== expected) {
    throw new RangeError(`a value of type ${types.join(' . ')} is ${expected} bytes, got ${bytes.length}`);
  }
  const fields: NftField[] = [];
  let pos = 0;
  for (const type of types) {
    const size = fieldSize(type);
    const field = bytes.subarray(pos, pos + size);
    const step = types.length === 1 ? size : roundToRegister(size);
    if (bytes.subarray(pos + size, pos + step).some((b) => b !== 0)) {
      throw new RangeError(`the padding after a ${type} field is not zero`);
    }
    fields.push(readField(type, field));
    pos += step;
  }
  return fields;
}

/**
 * The value as nft prints it: fields joined by ` . `, `tcp`/`udp` by name.
 *
 * @example
 * ```ts
 * formatNftValue([{ type: 'ipv4_addr', value: '192.0.2.10' }, { type: 'inet_proto', value: 17 },
 *   { type: 'inet_service', value: 5353 }]); // '192.0.2.10 . udp . 5353'
 * ```
 */
export function formatNftValue(fields: readonly NftField[]): string {
  return fields
    .map((f) => {
      if (f.type !== 'inet_proto') return String(f.value);
      return f.value === IPPROTO_TCP ? 'tcp' : f.value === IPPROTO_UDP ? 'udp' : String(f.value);
    })
    .join(' . ');
}

function roundToRegister(n: number): number {
  return Math.ceil(n / NFT_REG32_SIZE) * NFT_REG32_SIZE;
}

// A batch of published ports repeats a few addresses (the host's, the container's) thousands of
// times, and parsing one (bigint arithmetic) costs more than the rest of its element: keep the last
// few. The buffers are only ever copied from.
const ADDRESS_CACHE_SIZE = 64;
// Per type, keyed by the text itself: no key string to build per element.
const addressCache = { ipv4_addr: new Map<string, Buffer>(), ipv6_addr: new Map<string, Buffer>() };

function addressBytes(type: 'ipv4_addr' | 'ipv6_addr', text: string): Buffer {
  const cache = addressCache[type];
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const ip = isIp(text) ? parseIp(text) : undefined;
  if (ip === undefined || ip.family !== (type === 'ipv4_addr' ? 4 : 6)) throw new RangeError(`"${text}" is not an ${type}`);
  if (cache.size >= ADDRESS_CACHE_SIZE) cache.clear();
  const bytes = ipToBytes(ip);
  cache.set(text, bytes);
  return bytes;
}

function checkUint(value: number, max: number, type: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${value} is out of range for ${type}`);
  return value;
}

function readField(type: NftFieldType, bytes: Buffer): NftField {
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return { type, value: formatIp(ipFromBytes(bytes)) };
    case 'inet_proto':
      return { type, value: bytes.readUInt8(0) };
    case 'inet_service':
      return { type, value: bytes.readUInt16BE(0) };
  }
}
