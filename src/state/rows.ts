/**
 * The rows of the state database as SQLite returns them, and their conversion to records. The
 * database is shared with other ctnet versions, so the conversion checks what comes back.
 * @module
 */
import { errorMessage, StateError } from '../errors.js';
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

function parseSubnets(row: NetworkRow): SubnetRecord[] {
  const value = parseJson(row.subnets, `subnets of network "${row.name}"`);
  if (!Array.isArray(value)) throw new StateError(`subnets of network "${row.name}" are not a list`);
  return value.map((item: unknown): SubnetRecord => {
    if (
      typeof item === 'object' &&
      item !== null &&
      'subnet' in item &&
      'gateway' in item &&
      typeof item.subnet === 'string' &&
      typeof item.gateway === 'string'
    ) {
      return { subnet: item.subnet, gateway: item.gateway };
    }
    throw new StateError(`subnets of network "${row.name}" hold an invalid entry: ${JSON.stringify(item)}`);
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
  const addresses = parseJson(row.addresses, `addresses of endpoint "${row.id}"`);
  if (!Array.isArray(addresses) || !addresses.every((a: unknown): a is string => typeof a === 'string')) {
    throw new StateError(`addresses of endpoint "${row.id}" are not a list of strings`);
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
    addresses,
    ports: parsePorts(row),
    owner: row.owner as EndpointOwner,
    status: toStatus(row.status, `endpoint "${row.id}"`),
    created: row.created,
  };
}

function parsePorts(row: EndpointRow): PortRecord[] {
  const ports = parseJson(row.ports, `ports of endpoint "${row.id}"`);
  if (!Array.isArray(ports) || !ports.every(isPortRecord)) {
    throw new StateError(`ports of endpoint "${row.id}" are not a list of port records`);
  }
  return ports;
}

function isPortRecord(v: unknown): v is PortRecord {
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
