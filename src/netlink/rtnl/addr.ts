/**
 * Interface addresses (RTM_NEWADDR/RTM_DELADDR/RTM_GETADDR).
 * @module
 */
import { type IpAddress, ipFromBytes, ipToBytes } from '../../inet/ip.js';
import { attrMap, bytesAttr, encodeAttrs, readU32, u32Attr } from '../attr.js';
import { AF_INET, AF_INET6, IFA_ADDRESS, IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFA_FLAGS, IFA_LOCAL, RT_SCOPE_UNIVERSE } from '../constants.js';

export interface Address {
  index: number;
  ip: IpAddress;
  prefix: number;
  /** Skip IPv6 duplicate address detection so the address is usable at once (it is ours by IPAM). */
  noDad?: boolean;
  /** Do not add the connected route for the prefix (ptp host ends share one gateway address). */
  noPrefixRoute?: boolean;
}

/** What the kernel reports about an address. */
export interface AddressInfo {
  index: number;
  ip: IpAddress;
  prefix: number;
  flags: number;
  scope: number;
}

export const IFADDRMSG_LEN = 8;

export function familyOf(ip: IpAddress): number {
  return ip.family === 4 ? AF_INET : AF_INET6;
}

function ifaddrmsg(family: number, prefix: number, index: number): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefix, 1);
  b.writeUInt8(0, 2);
  b.writeUInt8(RT_SCOPE_UNIVERSE, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

/** Payload of RTM_NEWADDR / RTM_DELADDR. */
export function encodeAddress(a: Address): Buffer {
  const bytes = ipToBytes(a.ip);
  let flags = 0;
  if (a.noDad === true) flags |= IFA_F_NODAD;
  if (a.noPrefixRoute === true) flags |= IFA_F_NOPREFIXROUTE;
  const attrs = [bytesAttr(IFA_LOCAL, bytes), bytesAttr(IFA_ADDRESS, bytes)];
  if (flags !== 0) attrs.push(u32Attr(IFA_FLAGS, flags));
  return Buffer.concat([ifaddrmsg(familyOf(a.ip), a.prefix, a.index), encodeAttrs(attrs)]);
}

/** Payload of an RTM_GETADDR request for one address on one link. */
export function encodeAddressGet(a: { index: number; ip: IpAddress }): Buffer {
  return Buffer.concat([ifaddrmsg(familyOf(a.ip), 0, a.index), encodeAttrs([bytesAttr(IFA_ADDRESS, ipToBytes(a.ip))])]);
}

/** Payload of an RTM_GETADDR dump for one family (AF_UNSPEC for both). */
export function encodeAddressDump(family: number): Buffer {
  return ifaddrmsg(family, 0, 0);
}

export function decodeAddress(payload: Buffer): AddressInfo {
  const prefix = payload.readUInt8(1);
  const scope = payload.readUInt8(3);
  const index = payload.readUInt32LE(4);
  const attrs = attrMap(payload, IFADDRMSG_LEN);
  // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS otherwise.
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (raw === undefined) throw new RangeError('RTM_NEWADDR without an address');
  return {
    index,
    ip: ipFromBytes(raw),
    prefix,
    flags: readU32(attrs.get(IFA_FLAGS)) ?? payload.readUInt8(2),
    scope,
  };
}
