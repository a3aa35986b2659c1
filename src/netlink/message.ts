/**
 * The netlink message header (struct nlmsghdr) and the NLMSG_ERROR payload with extended ack.
 * @module
 */
import { attrMap, readString, readU32 } from './attr.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './constants.js';

export interface NetlinkHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NetlinkMessage extends NetlinkHeader {
  payload: Buffer;
}

/** Prepend an nlmsghdr to a payload. */
export function encodeMessage(header: NetlinkHeader, payload: Buffer): Buffer {
  const out = Buffer.alloc(NLMSG_HDRLEN + payload.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(header.type, 4);
  out.writeUInt16LE(header.flags, 6);
  out.writeUInt32LE(header.seq >>> 0, 8);
  out.writeUInt32LE(header.pid >>> 0, 12);
  payload.copy(out, NLMSG_HDRLEN);
  return out;
}

/** Split one datagram into its messages. */
export function decodeMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let pos = 0;
  while (pos + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(pos);
    if (len < NLMSG_HDRLEN || pos + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(pos + 4),
      flags: buf.readUInt16LE(pos + 6),
      seq: buf.readUInt32LE(pos + 8),
      pid: buf.readUInt32LE(pos + 12),
      payload: buf.subarray(pos + NLMSG_HDRLEN, pos + len),
    });
    pos += (len + 3) & ~3;
  }
  return out;
}

export interface NetlinkErrorPayload {
  /** 0 for an ACK, otherwise a negative errno. */
  error: number;
  /** The kernel's extended-ack message, when it gave one. */
  extack?: string;
  /** Byte offset of the offending attribute in the request, when given. */
  extackOffset?: number;
}

/**
 * Decode struct nlmsgerr. With NLM_F_CAPPED only the original header follows the errno; without it
 * the whole request is echoed. Extended-ack TLVs come after that when NLM_F_ACK_TLVS is set.
 */
export function decodeError(msg: NetlinkMessage): NetlinkErrorPayload {
  const { payload } = msg;
  const error = payload.length >= 4 ? payload.readInt32LE(0) : 0;
  const result: NetlinkErrorPayload = { error };
  if ((msg.flags & NLM_F_ACK_TLVS) === 0 || payload.length < 4 + NLMSG_HDRLEN) return result;
  const echoedLen = (msg.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : payload.readUInt32LE(4);
  const tlvs = attrMap(payload, 4 + ((echoedLen + 3) & ~3));
  const text = readString(tlvs.get(NLMSGERR_ATTR_MSG));
  if (text !== undefined && text !== '') result.extack = text;
  const offs = readU32(tlvs.get(NLMSGERR_ATTR_OFFS));
  if (offs !== undefined) result.extackOffset = offs;
  return result;
}
