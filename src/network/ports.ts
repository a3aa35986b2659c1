/**
 * Published ports: parsing `[HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp]`, expanding ranges into one
 * record per port, and finding host ports that a listening socket already holds.
 * @module
 */
import { readFileSync } from 'node:fs';
import { InvalidConfigError } from '../errors.js';
import { formatIp, type IpAddress, parseIp } from '../inet/ip.js';
import type { PortRecord } from '../state/records.js';

/** One `-p` value, or one CNI portMappings entry, before expansion. */
export interface PortSpec {
  protocol: 'tcp' | 'udp';
  /** Host address; absent: every local address. */
  hostIp?: string;
  hostPort: number;
  hostPortEnd?: number;
  containerPort: number;
  containerPortEnd?: number;
}

/** Most ports one mapping may expand to: each is an nftables map element. */
export const MAX_PORTS_PER_SPEC = 10_000;

function parsePort(text: string, what: string, spec: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new InvalidConfigError(`invalid port mapping "${spec}": ${what} "${text}" is not a port number (1-65535)`);
  }
  return Number(text);
}

function parseRange(text: string, what: string, spec: string): [number, number | undefined] {
  const dash = text.indexOf('-');
  if (dash === -1) return [parsePort(text, what, spec), undefined];
  return [parsePort(text.slice(0, dash), what, spec), parsePort(text.slice(dash + 1), what, spec)];
}

/**
 * Parse `[HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp]`; an IPv6 host address goes in brackets
 * (`[fd00::1]:8080:80`).
 * @example
 * parsePortSpec('127.0.0.1:8080:80/tcp'); // { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }
 */
export function parsePortSpec(text: string): PortSpec {
  let rest = text;
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash !== -1) {
    const proto = rest.slice(slash + 1).toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp') throw new InvalidConfigError(`invalid port mapping "${text}": protocol "${proto}" is not tcp or udp`);
    protocol = proto;
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close === -1) throw new InvalidConfigError(`invalid port mapping "${text}": expected [IPV6]:HOSTPORT:PORT`);
    hostIp = rest.slice(1, close);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  if (hostIp === undefined && parts.length === 3) hostIp = parts.shift();
  if (parts.length !== 2) throw new InvalidConfigError(`invalid port mapping "${text}": expected [HOSTIP:]HOSTPORT:PORT[/PROTO]`);
  const [hostPort, hostPortEnd] = parseRange(parts[0] ?? '', 'host port', text);
  const [containerPort, containerPortEnd] = parseRange(parts[1] ?? '', 'container port', text);
  const spec: PortSpec = { protocol, hostPort, containerPort };
  if (hostIp !== undefined && hostIp !== '') spec.hostIp = formatIp(parseHostIp(hostIp, text));
  if (hostPortEnd !== undefined) spec.hostPortEnd = hostPortEnd;
  if (containerPortEnd !== undefined) spec.containerPortEnd = containerPortEnd;
  return spec;
}

function parseHostIp(text: string, spec: string): IpAddress {
  try {
    return parseIp(text);
  } catch (err) {
    throw new InvalidConfigError(`invalid port mapping "${spec}": host address "${text}" is not an IP address`, { cause: err });
  }
}

/**
 * One record per published port and family. A mapping without a host address is published for
 * every family the network has; one with a host address only for that address's family.
 */
export function expandPorts(specs: readonly PortSpec[], families: ReadonlySet<4 | 6>): PortRecord[] {
  const out: PortRecord[] = [];
  // Host addresses taken per `family/protocol/port` ('*': every address, which collides with any one).
  const seen = new Map<string, Set<string>>();
  for (const spec of specs) {
    const text = describeSpec(spec);
    // CNI portMappings reach here without parsePortSpec's checks.
    for (const port of [spec.hostPort, spec.hostPortEnd, spec.containerPort, spec.containerPortEnd]) {
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
        throw new InvalidConfigError(`invalid port mapping "${text}": ${port} is not a port number (1-65535)`);
      }
    }
    const hostEnd = spec.hostPortEnd ?? spec.hostPort;
    const containerEnd = spec.containerPortEnd ?? spec.containerPort;
    if (hostEnd < spec.hostPort || containerEnd < spec.containerPort) {
      throw new InvalidConfigError(`invalid port mapping "${text}": a range must not end before it starts`);
    }
    const count = hostEnd - spec.hostPort + 1;
    if (containerEnd - spec.containerPort + 1 !== count) {
      throw new InvalidConfigError(`invalid port mapping "${text}": host and container ranges differ in length`);
    }
    if (count > MAX_PORTS_PER_SPEC) throw new InvalidConfigError(`invalid port mapping "${text}": more than ${MAX_PORTS_PER_SPEC} ports`);
    const hostIp = spec.hostIp === undefined ? undefined : parseHostIp(spec.hostIp, text);
    const fams = hostIp === undefined ? [...families] : [hostIp.family];
    if (hostIp !== undefined && !families.has(hostIp.family)) {
      throw new InvalidConfigError(`invalid port mapping "${text}": the network has no IPv${hostIp.family} subnet`);
    }
    // 0.0.0.0 or [::] means every address of that family (as in Docker), not a host address of its own.
    const recordIp = hostIp === undefined || hostIp.value === 0n ? null : formatIp(hostIp);
    for (const family of fams) {
      for (let i = 0; i < count; i++) {
        const rec: PortRecord = {
          family,
          protocol: spec.protocol,
          hostIp: recordIp,
          hostPort: spec.hostPort + i,
          containerPort: spec.containerPort + i,
        };
        const key = `${family}/${rec.protocol}/${rec.hostPort}`;
        const ip = rec.hostIp ?? '*';
        const taken = seen.get(key) ?? new Set<string>();
        if (taken.has(ip) || taken.has('*') || (ip === '*' && taken.size > 0)) {
          throw new InvalidConfigError(`invalid port mapping "${text}": host port ${rec.hostPort}/${rec.protocol} is given twice`);
        }
        taken.add(ip);
        seen.set(key, taken);
        out.push(rec);
      }
    }
  }
  return out;
}

function describeSpec(spec: PortSpec): string {
  const range = (a: number, b: number | undefined): string => (b === undefined ? String(a) : `${a}-${b}`);
  const ip = spec.hostIp === undefined ? '' : spec.hostIp.includes(':') ? `[${spec.hostIp}]:` : `${spec.hostIp}:`;
  return `${ip}${range(spec.hostPort, spec.hostPortEnd)}:${range(spec.containerPort, spec.containerPortEnd)}/${spec.protocol}`;
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

/**
 * The socket that would collide with publishing `port`, if any. A wildcard socket collides with
 * every address; an IPv6 wildcard may accept IPv4 too (unless IPV6_V6ONLY), so it counts for both.
 */
export function boundSocketFor(port: PortRecord, sockets: readonly HostSocket[]): HostSocket | undefined {
  const want = port.hostIp === null ? undefined : parseIp(port.hostIp);
  return sockets.find((s) => {
    if (s.protocol !== port.protocol || s.port !== port.hostPort) return false;
    const wildcard = s.ip.value === 0n;
    // An IPv6 socket on an IPv4-mapped address (::ffff:a.b.c.d) takes IPv4 connections to a.b.c.d.
    const ip: IpAddress = s.family === 6 && s.ip.value >> 32n === 0xffffn ? { family: 4, value: s.ip.value & 0xffffffffn } : s.ip;
    if (ip.family !== port.family && !(wildcard && s.family === 6)) return false;
    return wildcard || want === undefined || (ip.family === want.family && ip.value === want.value);
  });
}
