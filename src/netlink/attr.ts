/**
 * Netlink attributes (struct nlattr / rtattr): a 4-byte header (length, type) followed by the payload,
 * padded to 4 bytes. Requests are built as a small tree of {@link Attr} values and serialised once.
 * @module
 */
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';

/** One attribute: raw bytes, or nested children. */
export interface Attr {
  readonly type: number;
  readonly value: Buffer | readonly Attr[];
}

export const NLA_HDRLEN = 4;

/** Round up to the 4-byte netlink alignment. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Encoded size of an attribute including its padding. */
export function attrSize(attr: Attr): number {
  return align4(NLA_HDRLEN + payloadSize(attr));
}

function payloadSize(attr: Attr): number {
  if (Buffer.isBuffer(attr.value)) return attr.value.length;
  let total = 0;
  for (const child of attr.value) total += attrSize(child);
  return total;
}

/** Serialise attributes into `out` at `offset`; returns the offset after the last one. */
export function writeAttrs(attrs: readonly Attr[], out: Buffer, offset: number): number {
  let pos = offset;
  for (const attr of attrs) {
    const len = NLA_HDRLEN + payloadSize(attr);
    out.writeUInt16LE(len, pos);
    out.writeUInt16LE(attr.type, pos + 2);
    if (Buffer.isBuffer(attr.value)) {
      attr.value.copy(out, pos + NLA_HDRLEN);
    } else {
      writeAttrs(attr.value, out, pos + NLA_HDRLEN);
    }
    const end = pos + align4(len);
    out.fill(0, pos + len, end);
    pos = end;
  }
  return pos;
}

/** Serialise attributes into a new buffer. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  let size = 0;
  for (const a of attrs) size += attrSize(a);
  const out = Buffer.alloc(size);
  writeAttrs(attrs, out, 0);
  return out;
}

/**
 * Split a region into its attributes, in order. Types keep their flag bits so a decoded list
 * re-encodes byte for byte; use {@link attrType} to compare.
 */
export function decodeAttrs(buf: Buffer, offset = 0, end = buf.length): Attr[] {
  const attrs: Attr[] = [];
  let pos = offset;
  while (pos + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(pos);
    if (len < NLA_HDRLEN || pos + len > end) break; // truncated: stop rather than read garbage
    attrs.push({ type: buf.readUInt16LE(pos + 2), value: buf.subarray(pos + NLA_HDRLEN, pos + len) });
    pos += align4(len);
  }
  return attrs;
}

/** The attribute type without the NESTED / NET_BYTEORDER flag bits. */
export function attrType(attr: Attr): number {
  return attr.type & NLA_TYPE_MASK;
}

/** Attributes of a region by type (the last one wins for repeated types). */
export function attrMap(buf: Buffer, offset = 0, end = buf.length): Map<number, Buffer> {
  const map = new Map<number, Buffer>();
  for (const a of decodeAttrs(buf, offset, end)) {
    if (Buffer.isBuffer(a.value)) map.set(attrType(a), a.value);
  }
  return map;
}

// Small encoders, one per C type the kernel expects.
export function bytesAttr(type: number, value: Buffer): Attr {
  return { type, value };
}
export function u8Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(1);
  b.writeUInt8(value);
  return { type, value: b };
}
export function u16Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return { type, value: b };
}
export function u32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return { type, value: b };
}
export function s32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return { type, value: b };
}
/** A NUL-terminated string, as the kernel's NLA_NUL_STRING / NLA_STRING policies accept. */
export function stringAttr(type: number, value: string): Attr {
  return { type, value: Buffer.from(`${value}\0`, 'utf8') };
}
/** A nested attribute. rtnetlink parses IFLA_LINKINFO and friends without NLA_F_NESTED, as iproute2 sends them. */
export function nestedAttr(type: number, children: readonly Attr[], flagNested = false): Attr {
  return { type: flagNested ? type | NLA_F_NESTED : type, value: children };
}

// Decoders for values read from an attrMap.
export function readString(value: Buffer | undefined): string | undefined {
  if (value === undefined) return undefined;
  const nul = value.indexOf(0);
  return value.toString('utf8', 0, nul === -1 ? value.length : nul);
}
export function readU32(value: Buffer | undefined): number | undefined {
  return value === undefined || value.length < 4 ? undefined : value.readUInt32LE(0);
}
export function readS32(value: Buffer | undefined): number | undefined {
  return value === undefined || value.length < 4 ? undefined : value.readInt32LE(0);
}
export function readU8(value: Buffer | undefined): number | undefined {
  return value === undefined || value.length < 1 ? undefined : value.readUInt8(0);
}
