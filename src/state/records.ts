/**
 * The records of the state database, as the engine works with them. They describe what ctnet
 * created and owns; the kernel remains the truth for what exists, so these are what a later `gc`
 * reconciles against. Addresses and subnets are parsed values: `rows.ts` parses them once when a
 * row is read and formats them once when one is written, and nothing in between parses them again.
 * The callers of the library see them as text (`network/views.ts`).
 * @module
 */
import type { Cidr, IpWithPrefix } from '../inet/cidr.js';
import type { IpAddress } from '../inet/ip.js';

/** Who created an endpoint, so that each entry point only tears down its own endpoints. */
export type EndpointOwner = 'cli' | 'cni';

/**
 * How far a network or endpoint is made: `creating` until every kernel object exists, `removing`
 * from the first object taken down. A record that stays `creating` or `removing` belongs to a
 * change that was killed; the next change of the same object finishes it.
 */
export type RecordStatus = 'creating' | 'ready' | 'removing';

/**
 * One subnet of a network.
 * @example
 * const s: SubnetRecord = { subnet: parseCidr('10.68.0.0/24'), gateway: parseIp('10.68.0.1') };
 */
export interface SubnetRecord {
  /** E.g. `10.68.0.0/24` or `fd00::/64`. */
  subnet: Cidr;
  /** The gateway, inside `subnet`. */
  gateway: IpAddress;
}

/**
 * A network as ctnet created it.
 * @example
 * const n: NetworkRecord = {
 *   id: 'a1b2', name: 'net1', driver: 'bridge', bridge: 'ctnet0', mtu: 1500, nat: true,
 *   internal: false, subnets: [{ subnet: parseCidr('10.68.0.0/24'), gateway: parseIp('10.68.0.1') }], status: 'ready',
 *   created: new Date().toISOString(),
 * };
 */
export interface NetworkRecord {
  id: string;
  /** Unique among networks. */
  name: string;
  /** The driver's name (`bridge`, `ptp`); the state keeps it as text, the engine's registry knows what it means. */
  driver: string;
  /** The Linux bridge name; `null` for drivers without a bridge (ptp). */
  bridge: string | null;
  mtu: number;
  nat: boolean;
  internal: boolean;
  subnets: SubnetRecord[];
  status: RecordStatus;
  /** ISO 8601 time. */
  created: string;
}

/**
 * A published port: traffic to `hostPort` on the host reaches `containerPort` of the endpoint's
 * address of the same family.
 */
export interface PortRecord {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  /** The host address it is published on; `null` for every local address of the family. */
  hostIp: IpAddress | null;
  hostPort: number;
  containerPort: number;
}

/**
 * One container interface attached to a network.
 * @example
 * const e: EndpointRecord = {
 *   id: 'c3d4', networkId: 'a1b2', container: 'pid:4242', netns: '/proc/4242/ns/net',
 *   netnsId: '4:4026532281', ifname: 'eth0', hostIfname: 'ctc3d4', mac: '02:42:0a:44:00:02',
 *   addresses: [parseIpWithPrefix('10.68.0.2/24')], ports: [], owner: 'cli', status: 'ready',
 *   created: new Date().toISOString(),
 * };
 */
export interface EndpointRecord {
  id: string;
  networkId: string;
  /** As the user gave it (netns name, path, `pid:N`) or the CNI container id. */
  container: string;
  /** The netns path that was used, absolute and normalised. */
  netns: string;
  /** `dev:ino` of the namespace: the same for every spelling of it. Empty in records from before it was kept. */
  netnsId: string;
  /** Interface name inside the container. */
  ifname: string;
  /** Interface name on the host side. */
  hostIfname: string;
  mac: string;
  /** Interface addresses with the prefix they have on the interface, e.g. `10.68.0.2/24`, `fd00::2/64`. */
  addresses: IpWithPrefix[];
  /** Published ports, one record per port (ranges are expanded). */
  ports: PortRecord[];
  owner: EndpointOwner;
  status: RecordStatus;
  /** ISO 8601 time. */
  created: string;
}
