/**
 * Neighbours (RTM_NEWNEIGH/RTM_DELNEIGH/RTM_GETNEIGH): ARP/NDP entries, and bridge FDB entries
 * (family AF_BRIDGE) for the overlay to come.
 * @module
 */
import { type IpAddress, ipFromBytes, ipToBytes } from '../../inet/ip.js';
import { type Attr, attrMap, bytesAttr, encodeAttrs } from '../attr.js';
import { AF_BRIDGE, AF_INET, AF_INET6, NDA_DST, NDA_LLADDR, NUD_PERMANENT } from '../constants.js';
import { formatMac, parseMac } from '../../inet/mac.js';

export interface Neighbour {
  index: number;
  /** The IP address; omit for a bridge FDB entry. */
  ip?: IpAddress;
  mac: string;
  /** NUD_* state; permanent by default. */
  state?: number;
  /** NTF_* flags (NTF_SELF for an FDB entry on the device itself). */
  flags?: number;
}

export interface NeighbourInfo {
  index: number;
  family: number;
  ip: IpAddress | undefined;
  mac: string | undefined;
  state: number;
  flags: number;
}

export const NDMSG_LEN = 12;

function ndmsg(family: number, index: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  b.writeUInt8(0, 11); // ndm_type
  return b;
}

function neighFamily(n: Neighbour): number {
  if (n.ip === undefined) return AF_BRIDGE;
  return n.ip.family === 4 ? AF_INET : AF_INET6;
}

/** Payload of RTM_NEWNEIGH / RTM_DELNEIGH. */
export function encodeNeighbour(n: Neighbour): Buffer {
  const attrs: Attr[] = [bytesAttr(NDA_LLADDR, parseMac(n.mac))];
  if (n.ip !== undefined) attrs.unshift(bytesAttr(NDA_DST, ipToBytes(n.ip)));
  return Buffer.concat([ndmsg(neighFamily(n), n.index, n.state ?? NUD_PERMANENT, n.flags ?? 0), encodeAttrs(attrs)]);
}

/** Payload of an RTM_GETNEIGH dump for one family. */
export function encodeNeighbourDump(family: number): Buffer {
  return ndmsg(family, 0, 0, 0);
}

export function decodeNeighbour(payload: Buffer): NeighbourInfo {
  const attrs = attrMap(payload, NDMSG_LEN);
  const dst = attrs.get(NDA_DST);
  const ll = attrs.get(NDA_LLADDR);
  return {
    family: payload.readUInt8(0),
    index: payload.readInt32LE(4),
    state: payload.readUInt16LE(8),
    flags: payload.readUInt8(10),
    ip: dst === undefined ? undefined : ipFromBytes(dst),
    mac: ll === undefined || ll.length !== 6 ? undefined : formatMac(ll),
  };
}
