/**
 * Published ports: parsing `[HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp]`, expanding ranges into one
 * record per port, and finding host ports that a listening socket already holds.
 * @module
 */
import { InvalidConfigError } from '../errors.js';
import { formatIp, type IpAddress, parseIp } from '../inet/ip.js';
import { formatHostIp, formatPortRange } from '../inet/port.js';
import type { PortRecord } from '../state/records.js';
import { describeValue } from '../validate/describe.js';

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

/**
 * A port to publish as a caller may give it: the text people write (`'8080:80'`,
 * `'127.0.0.1:8080-8081:80-81/udp'`, see {@link parsePortSpec}) or the parsed form, whose protocol
 * defaults to tcp.
 */
export type PublishSpec = string | (Omit<PortSpec, 'protocol'> & { protocol?: 'tcp' | 'udp' });

/**
 * Most ports one request may publish per family and protocol: the number of host ports there are.
 * More could only be told apart by host address, and each one is two nftables map elements.
 */
export const MAX_PORTS_PER_PROTOCOL = 65535;

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

function parseHostIp(text: string, spec: string | PortSpec): IpAddress {
  try {
    return parseIp(text);
  } catch (err) {
    const mapping = typeof spec === 'string' ? spec : describeSpec(spec);
    throw new InvalidConfigError(`invalid port mapping "${mapping}": host address "${text}" is not an IP address`, { cause: err });
  }
}

/**
 * One record per published port and family. A mapping without a host address is published for
 * every family the network has; one with a host address only for that address's family.
 * @throws {InvalidConfigError} for a malformed mapping, a host port given twice, or more than
 *   {@link MAX_PORTS_PER_PROTOCOL} ports of one family and protocol, before anything is expanded
 */
export function expandPorts(specs: readonly PublishSpec[], families: ReadonlySet<4 | 6>): PortRecord[] {
  const checked = specs.map((spec) => checkSpec(toPortSpec(spec), families));
  const counts = new Map<string, number>();
  for (const c of checked) {
    for (const family of c.families) {
      const key = `IPv${family} ${c.spec.protocol}`;
      counts.set(key, (counts.get(key) ?? 0) + c.count);
    }
  }
  for (const [key, n] of counts) {
    if (n > MAX_PORTS_PER_PROTOCOL) {
      throw new InvalidConfigError(`invalid port mappings: ${n} ${key} ports in one request, more than the ${MAX_PORTS_PER_PROTOCOL} host ports there are`);
    }
  }
  const out: PortRecord[] = [];
  // Host addresses taken per `family/protocol`, indexed by port ('': every address, which collides
  // with any one): one array lookup per port, however many ports the request has.
  const claims = new Map<string, (Set<string> | undefined)[]>();
  for (const { spec, count, families: fams, recordIp } of checked) {
    for (const family of fams) {
      const key = `${family}/${spec.protocol}`;
      let byPort = claims.get(key);
      if (byPort === undefined) claims.set(key, (byPort = []));
      const ip = recordIp === null ? '' : String(recordIp.value);
      for (let i = 0; i < count; i++) {
        const hostPort = spec.hostPort + i;
        let taken = byPort[hostPort];
        if (taken === undefined) byPort[hostPort] = taken = new Set();
        if (taken.has(ip) || taken.has('') || (ip === '' && taken.size > 0)) {
          throw new InvalidConfigError(`invalid port mapping "${describeSpec(spec)}": host port ${hostPort}/${spec.protocol} is given twice`);
        }
        taken.add(ip);
        out.push({ family, protocol: spec.protocol, hostIp: recordIp, hostPort, containerPort: spec.containerPort + i });
      }
    }
  }
  return out;
}

/** A mapping that passed {@link checkSpec}: how many ports, for which families, on which address. */
interface CheckedSpec {
  spec: PortSpec;
  count: number;
  families: readonly (4 | 6)[];
  /** The host address as records keep it; `null` for every address. */
  recordIp: IpAddress | null;
}

/** The parsed form of a caller's mapping, its shape checked: library callers may pass anything. */
function toPortSpec(given: PublishSpec): PortSpec {
  if (typeof given === 'string') return parsePortSpec(given);
  // Checked as what it may really be: JavaScript callers are not held to the type.
  const raw: unknown = given;
  const what = `invalid port mapping ${describeValue(raw)}`;
  if (typeof raw !== 'object' || raw === null) throw new InvalidConfigError(`${what}: expected "[HOSTIP:]HOSTPORT:PORT[/PROTO]" or { hostPort, containerPort }`);
  const fields = raw as Record<string, unknown>;
  const protocol = fields['protocol'] ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') throw new InvalidConfigError(`${what}: protocol must be "tcp" or "udp"`);
  for (const key of ['hostPort', 'containerPort']) {
    if (typeof fields[key] !== 'number') throw new InvalidConfigError(`${what}: "${key}" must be a port number`);
  }
  for (const key of ['hostPortEnd', 'containerPortEnd']) {
    if (fields[key] !== undefined && typeof fields[key] !== 'number') throw new InvalidConfigError(`${what}: "${key}" must be a port number`);
  }
  if (fields['hostIp'] !== undefined && typeof fields['hostIp'] !== 'string') throw new InvalidConfigError(`${what}: "hostIp" must be an address`);
  return { ...given, protocol };
}

function checkSpec(spec: PortSpec, families: ReadonlySet<4 | 6>): CheckedSpec {
  // CNI portMappings reach here without parsePortSpec's checks.
  for (const port of [spec.hostPort, spec.hostPortEnd, spec.containerPort, spec.containerPortEnd]) {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new InvalidConfigError(`invalid port mapping "${describeSpec(spec)}": ${port} is not a port number (1-65535)`);
    }
  }
  const hostEnd = spec.hostPortEnd ?? spec.hostPort;
  const containerEnd = spec.containerPortEnd ?? spec.containerPort;
  if (hostEnd < spec.hostPort || containerEnd < spec.containerPort) {
    throw new InvalidConfigError(`invalid port mapping "${describeSpec(spec)}": a range must not end before it starts`);
  }
  const count = hostEnd - spec.hostPort + 1;
  if (containerEnd - spec.containerPort + 1 !== count) {
    throw new InvalidConfigError(`invalid port mapping "${describeSpec(spec)}": host and container ranges differ in length`);
  }
  const hostIp = spec.hostIp === undefined ? undefined : parseHostIp(spec.hostIp, spec);
  if (hostIp !== undefined && !families.has(hostIp.family)) {
    throw new InvalidConfigError(`invalid port mapping "${describeSpec(spec)}": the network has no IPv${hostIp.family} subnet`);
  }
  return {
    spec,
    count,
    families: hostIp === undefined ? [...families] : [hostIp.family],
    // 0.0.0.0 or [::] means every address of that family (as in Docker), not a host address of its own.
    recordIp: hostIp === undefined || hostIp.value === 0n ? null : hostIp,
  };
}

/** A mapping as it is written with `-p`: `[fd00::1]:8080-8081:80-81/tcp`. */
function describeSpec(spec: PortSpec): string {
  const ip = spec.hostIp === undefined ? '' : `${formatHostIp(spec.hostIp)}:`;
  return `${ip}${formatPortRange(spec.hostPort, spec.hostPortEnd)}:${formatPortRange(spec.containerPort, spec.containerPortEnd)}/${spec.protocol}`;
}
