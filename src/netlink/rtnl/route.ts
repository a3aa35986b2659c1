/**
 * Routes (RTM_NEWROUTE/RTM_DELROUTE/RTM_GETROUTE) in the main table.
 * @module
 */
import { type IpAddress, ipFromBytes, ipToBytes } from '../../inet/ip.js';
import { type Attr, attrMap, bytesAttr, encodeAttrs, readU32, u32Attr } from '../attr.js';
import {
  AF_INET,
  AF_INET6,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTNH_F_ONLINK,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
} from '../constants.js';

export interface Route {
  family: 4 | 6;
  /** Destination network; omit for the default route. */
  dst?: { ip: IpAddress; prefix: number };
  gateway?: IpAddress;
  oifIndex?: number;
  /** `link` for a directly connected destination (no gateway). Defaults by the presence of a gateway. */
  scope?: 'link' | 'universe';
  /** The gateway is reachable on `oifIndex` even without a connected route (ip route ... onlink). */
  onlink?: boolean;
  prefsrc?: IpAddress;
  metric?: number;
  table?: number;
}

export interface RouteInfo {
  family: 4 | 6;
  dst: { ip: IpAddress; prefix: number } | undefined;
  gateway: IpAddress | undefined;
  oifIndex: number | undefined;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  metric: number | undefined;
}

export const RTMSG_LEN = 12;

function rtmsg(family: number, dstLen: number, table: number, protocol: number, scope: number, type: number, flags: number): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(dstLen, 1);
  b.writeUInt8(0, 2); // src_len
  b.writeUInt8(0, 3); // tos
  b.writeUInt8(table < 256 ? table : 0, 4);
  b.writeUInt8(protocol, 5);
  b.writeUInt8(scope, 6);
  b.writeUInt8(type, 7);
  b.writeUInt32LE(flags, 8);
  return b;
}

/** Payload of RTM_NEWROUTE. */
export function encodeRoute(r: Route): Buffer {
  const scope = (r.scope ?? (r.gateway === undefined ? 'link' : 'universe')) === 'link' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  return routeMessage(r, { protocol: RTPROT_BOOT, scope, type: RTN_UNICAST });
}

/**
 * Payload of RTM_DELROUTE. As `ip route del` does, it leaves out what the caller did not ask for:
 * the kernel then matches a route of any protocol, type and (unless `scope` is given) scope, so a
 * route the kernel or another tool made (`proto kernel`, `proto static`) can be deleted too.
 */
export function encodeRouteDel(r: Route): Buffer {
  const scope = r.scope === undefined ? RT_SCOPE_NOWHERE : r.scope === 'link' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  return routeMessage(r, { protocol: RTPROT_UNSPEC, scope, type: RTN_UNSPEC });
}

function routeMessage(r: Route, head: { protocol: number; scope: number; type: number }): Buffer {
  const family = r.family === 4 ? AF_INET : AF_INET6;
  const table = r.table ?? RT_TABLE_MAIN;
  const attrs: Attr[] = [];
  if (r.dst !== undefined) attrs.push(bytesAttr(RTA_DST, ipToBytes(r.dst.ip)));
  if (r.gateway !== undefined) attrs.push(bytesAttr(RTA_GATEWAY, ipToBytes(r.gateway)));
  if (r.oifIndex !== undefined) attrs.push(u32Attr(RTA_OIF, r.oifIndex));
  if (r.prefsrc !== undefined) attrs.push(bytesAttr(RTA_PREFSRC, ipToBytes(r.prefsrc)));
  if (r.metric !== undefined) attrs.push(u32Attr(RTA_PRIORITY, r.metric));
  if (table >= 256) attrs.push(u32Attr(RTA_TABLE, table));
  const msg = rtmsg(family, r.dst?.prefix ?? 0, table, head.protocol, head.scope, head.type, r.onlink === true ? RTNH_F_ONLINK : 0);
  return Buffer.concat([msg, encodeAttrs(attrs)]);
}

/** Payload of an RTM_GETROUTE dump for one family. */
export function encodeRouteDump(family: 4 | 6): Buffer {
  return rtmsg(family === 4 ? AF_INET : AF_INET6, 0, 0, 0, 0, 0, 0);
}

export function decodeRoute(payload: Buffer): RouteInfo {
  const fam = payload.readUInt8(0) === AF_INET ? 4 : 6;
  const dstLen = payload.readUInt8(1);
  const attrs = attrMap(payload, RTMSG_LEN);
  const dst = attrs.get(RTA_DST);
  const gw = attrs.get(RTA_GATEWAY);
  return {
    family: fam,
    dst: dst === undefined ? undefined : { ip: ipFromBytes(dst), prefix: dstLen },
    gateway: gw === undefined ? undefined : ipFromBytes(gw),
    oifIndex: readU32(attrs.get(RTA_OIF)),
    table: readU32(attrs.get(RTA_TABLE)) ?? payload.readUInt8(4),
    protocol: payload.readUInt8(5),
    scope: payload.readUInt8(6),
    type: payload.readUInt8(7),
    metric: readU32(attrs.get(RTA_PRIORITY)),
  };
}
