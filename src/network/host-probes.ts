/**
 * What the host already has that a new network or a published port could collide with: its
 * routes, its local addresses and its bound sockets (/proc/net). Read-only probes of the namespace
 * ctnet runs in; the engine decides what a collision means.
 * @module
 */
import { readFileSync } from 'node:fs';
import { type Cidr, cidrContains, cidrOverlaps } from '../inet/cidr.js';
import { type IpAddress, ipEquals } from '../inet/ip.js';
import { RT_TABLE_MAIN, RTN_LOCAL } from '../netlink/constants.js';
import type { Rtnl } from '../netlink/rtnl/handle.js';
import type { RouteInfo } from '../netlink/rtnl/route.js';
import type { PortRecord } from '../state/records.js';

/**
 * The first route of the main table that overlaps `cidr`, if any. The default route overlaps
 * everything and says nothing about the subnet being in use, so it never counts.
 */
export function overlappingRoute(host: Rtnl, cidr: Cidr): RouteInfo | undefined {
  return host.routeList(cidr.family).find(
    (r) => r.table === RT_TABLE_MAIN && r.dst !== undefined && r.dst.prefix !== 0 && cidrOverlaps(cidr, { family: r.family, network: r.dst.ip.value, prefix: r.dst.prefix }),
  );
}

/**
 * A test of whether an address is one of the host's own. Published ports match `fib daddr type
 * local`, so an address is the host's exactly when a local route covers it (127.0.0.0/8 does for
 * every loopback address, not only 127.0.0.1). Each address is looked up once however often asked.
 */
export function localAddressTest(host: Rtnl): (ip: IpAddress) => boolean {
  const localRoutes = ([4, 6] as const).flatMap((f) => host.routeList(f)).filter((r) => r.type === RTN_LOCAL && r.dst !== undefined);
  const known = new Map<string, boolean>();
  return (ip) => {
    const key = `${ip.family} ${ip.value}`;
    let local = known.get(key);
    if (local === undefined) {
      local = localRoutes.some((r) => r.dst !== undefined && cidrContains({ family: r.family, network: r.dst.ip.value, prefix: r.dst.prefix }, ip));
      known.set(key, local);
    }
    return local;
  };
}

/** A socket bound on the host, from /proc/net/{tcp,udp}{,6}. */
export interface HostSocket {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  ip: IpAddress;
  port: number;
}

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/** /proc/net address `0100007F:1F90` (little-endian words) → address and port. */
function parseProcAddress(text: string, family: 4 | 6): { ip: IpAddress; port: number } {
  const [hex = '', portHex = '0'] = text.split(':');
  let value = 0n;
  // Each 32-bit word is printed in host (little-endian) byte order.
  for (let w = 0; w < hex.length / 8; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = word.match(/../g) ?? [];
    for (const b of bytes.reverse()) value = (value << 8n) | BigInt(Number.parseInt(b, 16));
  }
  return { ip: { family, value }, port: Number.parseInt(portHex, 16) };
}

/** Parse one /proc/net/{tcp,udp}{,6} table into its listening (tcp) or bound (udp) sockets. */
export function parseProcNet(text: string, family: 4 | 6, protocol: 'tcp' | 'udp'): HostSocket[] {
  const out: HostSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    if (local === undefined || state === undefined) continue;
    if (state !== (protocol === 'tcp' ? TCP_LISTEN : UDP_UNCONNECTED)) continue;
    out.push({ family, protocol, ...parseProcAddress(local, family) });
  }
  return out;
}

/** Sockets bound in the calling process's network namespace. */
export function hostSockets(protocols: ReadonlySet<'tcp' | 'udp'> = new Set(['tcp', 'udp'])): HostSocket[] {
  const out: HostSocket[] = [];
  // Each table costs a read of the kernel's whole socket list: read only the protocols asked for.
  for (const protocol of protocols) {
    for (const family of [4, 6] as const) {
      let text: string;
      try {
        text = readFileSync(`/proc/net/${protocol}${family === 6 ? '6' : ''}`, 'utf8');
      } catch {
        continue; // no IPv6 in this kernel: nothing can listen there
      }
      out.push(...parseProcNet(text, family, protocol));
    }
  }
  return out;
}

/** Host sockets by protocol and port, so that checking a port costs the same with 1 or 65535 ports. */
export type SocketIndex = ReadonlyMap<number, readonly HostSocket[]>;

function socketKey(protocol: 'tcp' | 'udp', port: number): number {
  return protocol === 'tcp' ? port : 65536 + port;
}

/** Index sockets (from {@link hostSockets}) for {@link boundSocketFor}. */
export function indexSockets(sockets: readonly HostSocket[]): SocketIndex {
  const index = new Map<number, HostSocket[]>();
  for (const s of sockets) {
    const key = socketKey(s.protocol, s.port);
    const same = index.get(key);
    if (same === undefined) index.set(key, [s]);
    else same.push(s);
  }
  return index;
}

/**
 * The socket that would collide with publishing `port`, if any. A wildcard socket collides with
 * every address; an IPv6 wildcard may accept IPv4 too (unless IPV6_V6ONLY), so it counts for both.
 * @example
 * boundSocketFor(port, indexSockets(hostSockets())); // undefined: the port is free
 */
export function boundSocketFor(port: PortRecord, sockets: SocketIndex): HostSocket | undefined {
  const candidates = sockets.get(socketKey(port.protocol, port.hostPort));
  if (candidates === undefined) return undefined;
  const want = port.hostIp;
  return candidates.find((s) => {
    const wildcard = s.ip.value === 0n;
    // An IPv6 socket on an IPv4-mapped address (::ffff:a.b.c.d) takes IPv4 connections to a.b.c.d.
    const ip: IpAddress = s.family === 6 && s.ip.value >> 32n === 0xffffn ? { family: 4, value: s.ip.value & 0xffffffffn } : s.ip;
    if (ip.family !== port.family && !(wildcard && s.family === 6)) return false;
    return wildcard || want === null || ipEquals(ip, want);
  });
}
