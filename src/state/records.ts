/**
 * Plain records kept in the state database. They describe what ctnet created and owns; the kernel
 * remains the truth for what exists, so these are what a later `gc` reconciles against.
 * @module
 */


/** Who created an endpoint, so that each entry point only tears down its own endpoints. */
export type EndpointOwner = 'cli' | 'cni';

/**
 * How far a network or endpoint is made: `creating` until every kernel object exists, `removing`
 * from the first object taken down. A record that stays `creating` or `removing` belongs to a
 * change that was killed; the next change of the same object finishes it.
 */
export type RecordStatus = 'creating' | 'ready' | 'removing';

/**
 * One subnet of a network, both fields in canonical text form.
 * @example
 * const s: SubnetRecord = { subnet: '10.68.0.0/24', gateway: '10.68.0.1' };
 */
export interface SubnetRecord {
  /** Canonical CIDR text, e.g. `10.68.0.0/24` or `fd00::/64`. */
  subnet: string;
  /** Canonical IP text of the gateway inside `subnet`. */
  gateway: string;
}

/**
 * A network as ctnet created it.
 * @example
 * const n: NetworkRecord = {
 *   id: 'a1b2', name: 'net1', driver: 'bridge', bridge: 'ctnet0', mtu: 1500, nat: true,
 *   internal: false, subnets: [{ subnet: '10.68.0.0/24', gateway: '10.68.0.1' }], status: 'ready',
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
  /** Canonical host address it is published on; `null` for every local address of the family. */
  hostIp: string | null;
  hostPort: number;
  containerPort: number;
}

/**
 * One container interface attached to a network.
 * @example
 * const e: EndpointRecord = {
 *   id: 'c3d4', networkId: 'a1b2', container: 'pid:4242', netns: '/proc/4242/ns/net',
 *   netnsId: '4:4026532281', ifname: 'eth0', hostIfname: 'ctc3d4', mac: '02:42:0a:44:00:02',
 *   addresses: ['10.68.0.2/24'], owner: 'cli', status: 'ready', created: new Date().toISOString(),
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
  /** Interface addresses with prefix, e.g. `10.68.0.2/24`, `fd00::2/64`. */
  addresses: string[];
  /** Published ports, one record per port (ranges are expanded). */
  ports: PortRecord[];
  owner: EndpointOwner;
  status: RecordStatus;
  /** ISO 8601 time. */
  created: string;
}
