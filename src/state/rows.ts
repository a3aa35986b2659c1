/**
 * The rows of the state database as SQLite returns them, and their conversion to and from records:
 * the one place where the addresses, subnets and ports the database holds as text are parsed (on
 * read) and formatted (on write). The database is shared with other ctnet versions, so the
 * conversion checks what comes back.
 * @module
 */
import { errorMessage, StateError } from '../errors.js';
import { formatCidr, formatIpWithPrefix, type IpWithPrefix, parseCidr, parseIpWithPrefix } from '../inet/cidr.js';
import { formatIp, type IpAddress, ipFormatter, parseIp } from '../inet/ip.js';
import type { EndpointOwner, EndpointRecord, NetworkRecord, PortRecord, RecordStatus, SubnetRecord } from './records.js';

/** A row of `networks`. */
export interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  bridge: string | null;
  mtu: number;
  nat: number;
  internal: number;
  subnets: string;
  status: string;
  created: string;
}

/** A row of `endpoints`. */
export interface EndpointRow {
  id: string;
  network_id: string;
  container: string;
  netns: string;
  netns_id: string;
  ifname: string;
  host_ifname: string;
  mac: string;
  addresses: string;
  ports: string;
  owner: string;
  status: string;
  created: string;
}

const OWNERS: readonly string[] = ['cli', 'cni'] satisfies EndpointOwner[];
const STATUSES: readonly string[] = ['creating', 'ready', 'removing'] satisfies RecordStatus[];

function toStatus(value: string, what: string): RecordStatus {
  if (!STATUSES.includes(value)) throw new StateError(`${what} has unknown status "${value}"`);
  return value as RecordStatus;
}

/**
 * The record of a `networks` row.
 * @throws {StateError} when the row holds malformed subnets
 */
export function toNetwork(row: NetworkRow): NetworkRecord {
  return {
    id: row.id,
    name: row.name,
    driver: row.driver,
    bridge: row.bridge,
    mtu: row.mtu,
    nat: row.nat === 1,
    internal: row.internal === 1,
    subnets: parseSubnets(row),
    status: toStatus(row.status, `network "${row.name}"`),
    created: row.created,
  };
}

/** The `networks` row of a record. */
export function networkRow(rec: NetworkRecord): NetworkRow {
  return {
    id: rec.id,
    name: rec.name,
    driver: rec.driver,
    bridge: rec.bridge,
    mtu: rec.mtu,
    nat: rec.nat ? 1 : 0,
    internal: rec.internal ? 1 : 0,
    subnets: JSON.stringify(rec.subnets.map((s) => ({ subnet: formatCidr(s.subnet), gateway: formatIp(s.gateway) }))),
    status: rec.status,
    created: rec.created,
  };
}

function parseSubnets(row: NetworkRow): SubnetRecord[] {
  const value = parseJson(row.subnets, `subnets of network "${row.name}"`);
  if (!Array.isArray(value)) throw new StateError(`subnets of network "${row.name}" are not a list`);
  return value.map((item: unknown): SubnetRecord => {
    const invalid = (cause?: unknown): StateError =>
      new StateError(`subnets of network "${row.name}" hold an invalid entry: ${JSON.stringify(item)}`, cause === undefined ? {} : { cause });
    if (
      typeof item === 'object' &&
      item !== null &&
      'subnet' in item &&
      'gateway' in item &&
      typeof item.subnet === 'string' &&
      typeof item.gateway === 'string'
    ) {
      try {
        return { subnet: parseCidr(item.subnet), gateway: parseIp(item.gateway) };
      } catch (err) {
        throw invalid(err);
      }
    }
    throw invalid();
  });
}

/**
 * The record of an `endpoints` row.
 * @throws {StateError} when the row holds an unknown owner, or malformed addresses or ports
 */
export function toEndpoint(row: EndpointRow): EndpointRecord {
  if (!OWNERS.includes(row.owner)) {
    throw new StateError(`endpoint "${row.id}" has unknown owner "${row.owner}"`);
  }
  return {
    id: row.id,
    networkId: row.network_id,
    container: row.container,
    netns: row.netns,
    netnsId: row.netns_id,
    ifname: row.ifname,
    hostIfname: row.host_ifname,
    mac: row.mac,
    addresses: parseAddresses(row),
    ports: parsePorts(row),
    owner: row.owner as EndpointOwner,
    status: toStatus(row.status, `endpoint "${row.id}"`),
    created: row.created,
  };
}

/** The `endpoints` row of a record. */
export function endpointRow(rec: EndpointRecord): EndpointRow {
  return {
    id: rec.id,
    network_id: rec.networkId,
    container: rec.container,
    netns: rec.netns,
    netns_id: rec.netnsId,
    ifname: rec.ifname,
    host_ifname: rec.hostIfname,
    mac: rec.mac,
    addresses: JSON.stringify(rec.addresses.map(formatIpWithPrefix)),
    ports: JSON.stringify(portRows(rec.ports)),
    owner: rec.owner,
    status: rec.status,
    created: rec.created,
  };
}

function parseAddresses(row: EndpointRow): IpWithPrefix[] {
  const addresses = parseJson(row.addresses, `addresses of endpoint "${row.id}"`);
  if (!Array.isArray(addresses) || !addresses.every((a: unknown): a is string => typeof a === 'string')) {
    throw new StateError(`addresses of endpoint "${row.id}" are not a list of strings`);
  }
  try {
    return addresses.map(parseIpWithPrefix);
  } catch (err) {
    throw new StateError(`addresses of endpoint "${row.id}" hold an invalid address: ${errorMessage(err)}`, { cause: err });
  }
}

/** A published port as the `ports` column keeps it, the host address as text. */
interface PortRow {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  hostIp: string | null;
  hostPort: number;
  containerPort: number;
}

/** The ports as the `ports` column keeps them. */
function portRows(ports: readonly PortRecord[]): PortRow[] {
  const text = ipFormatter();
  return ports.map((p) => ({ family: p.family, protocol: p.protocol, hostIp: p.hostIp === null ? null : text(p.hostIp), hostPort: p.hostPort, containerPort: p.containerPort }));
}

function parsePorts(row: EndpointRow): PortRecord[] {
  const ports = parseJson(row.ports, `ports of endpoint "${row.id}"`);
  const bad = (cause?: unknown): StateError =>
    new StateError(`ports of endpoint "${row.id}" are not a list of port records`, cause === undefined ? {} : { cause });
  if (!Array.isArray(ports) || !ports.every(isPortRow)) throw bad();
  // One parse per distinct host address, however many ports share it.
  const parsed = new Map<string, IpAddress>();
  try {
    return ports.map((p) => {
      let hostIp: IpAddress | null = null;
      if (p.hostIp !== null) {
        hostIp = parsed.get(p.hostIp) ?? parseIp(p.hostIp);
        parsed.set(p.hostIp, hostIp);
        if (hostIp.family !== p.family) throw new StateError(`host address ${p.hostIp} of an IPv${p.family} port`);
      }
      return { family: p.family, protocol: p.protocol, hostIp, hostPort: p.hostPort, containerPort: p.containerPort };
    });
  } catch (err) {
    throw bad(err);
  }
}

function isPortRow(v: unknown): v is PortRow {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    (r['family'] === 4 || r['family'] === 6) &&
    (r['protocol'] === 'tcp' || r['protocol'] === 'udp') &&
    (r['hostIp'] === null || typeof r['hostIp'] === 'string') &&
    typeof r['hostPort'] === 'number' &&
    typeof r['containerPort'] === 'number'
  );
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StateError(`${what} are not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
}
