/**
 * The engine's public value types: what callers pass in and what they get back. Every address,
 * subnet and port in them is plain text and numbers, so each one is JSON as it is (the agent's
 * socket carries them so). The engine parses its input once, at its edge, and formats its records
 * once, on the way out (`views.ts`).
 * @module
 */
import type { EndpointOwner, RecordStatus } from '../state/records.js';
import type { DriverName } from './driver-names.js';
import type { PublishSpec } from './ports.js';

export type { PortSpec, PublishSpec } from './ports.js';

/** What `createNetwork` takes; mirrors `ctnet network create` and the CNI network config. */
export interface NetworkSpec {
  name: string;
  /** One or two subnets (at most one per family), e.g. `['10.68.0.0/24', 'fd68::/64']`. */
  subnets: readonly string[];
  /** Gateway of the IPv4 (or only) subnet; default: its first host address. */
  gateway?: string;
  /** Default `bridge`. */
  driver?: DriverName;
  /** Linux bridge name; default derived from the network name. Bridge driver only. */
  bridge?: string;
  /** Default 1500. */
  mtu?: number;
  /** Masquerade traffic leaving the network (default true). */
  nat?: boolean;
  /** Let nothing leave the network (default false). Implies no NAT. */
  internal?: boolean;
}

/** One subnet of a network. */
export interface NetworkSubnet {
  /** Canonical CIDR text, e.g. `10.68.0.0/24` or `fd00::/64`. */
  subnet: string;
  /** Canonical IP text of the gateway inside `subnet`. */
  gateway: string;
}

/** A network as ctnet keeps it. */
export interface Network {
  id: string;
  /** Unique among networks. */
  name: string;
  /** The driver's name (`bridge`, `ptp`). */
  driver: string;
  /** The Linux bridge name; `null` for drivers without a bridge (ptp). */
  bridge: string | null;
  mtu: number;
  nat: boolean;
  internal: boolean;
  subnets: NetworkSubnet[];
  /** `creating` or `removing`: a change of it was killed, and the next one finishes it. */
  status: RecordStatus;
  /** ISO 8601 time. */
  created: string;
}

/**
 * A published port: traffic to `hostPort` on the host reaches `containerPort` of the endpoint's
 * address of the same family.
 */
export interface PublishedPort {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  /** Canonical host address it is published on; `null` for every local address of the family. */
  hostIp: string | null;
  hostPort: number;
  containerPort: number;
}

/** Options of `connect`; each mirrors a `ctnet connect` flag. */
export interface ConnectOptions {
  /** Static addresses (one per family); the rest are allocated. */
  ips?: readonly string[];
  /** Interface name inside the container; default the first free `ethN`. */
  ifname?: string;
  /** MAC address of the container interface; default random. */
  mac?: string;
  /** Ports to publish on the host (`-p`): `'8080:80'` as people write them, or parsed objects. */
  ports?: readonly PublishSpec[];
  /** Who attaches: `cli` (default) or `cni`; the CNI container id is then the container name. */
  owner?: 'cli' | 'cni';
  /**
   * The container's name as listings show it, when it differs from the namespace reference (the CNI
   * container id). Default: the reference as given.
   */
  containerId?: string;
}

/** One container interface on one network. */
export interface Endpoint {
  id: string;
  /** The network's name. */
  network: string;
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
  /** Gateways of the network, one per family. */
  gateways: string[];
  /** Published ports, one per port (ranges are expanded). */
  ports: PublishedPort[];
  owner: EndpointOwner;
  status: RecordStatus;
  /** ISO 8601 time. */
  created: string;
}

/** A route `connect` added in the container, as CNI reports it: `0.0.0.0/0` via the gateway. */
export interface EndpointRoute {
  dst: string;
  gateway: string;
}

/** What `connect` returns: the endpoint, and the routes it added in the container. */
export interface AttachedEndpoint extends Endpoint {
  routes: EndpointRoute[];
}

/** Which attachments a lookup may find: the CLI's (by namespace) or a CNI runtime's (by container id). */
export interface EndpointSelector {
  /** Only the attachment with this interface name inside the container. */
  ifname?: string;
  /** Who made it; default `cli`. A CNI attachment is found by its container id only. */
  owner?: EndpointOwner;
}

/** A host sysctl ctnet changed, as `CtnetOptions.onSysctlChange` reports it. */
export interface SysctlChange {
  /** As sysctl(8) names it: `net.ipv6.conf.eth0.accept_ra`. */
  key: string;
  /** The value before; null when it could not be read. */
  previous: string | null;
  value: string;
  why: string;
  /**
   * The sysctl belongs to a link ctnet made (a bridge, a veth's host end) and goes with it; false
   * for the host's own settings (forwarding, the host's interfaces).
   */
  ownLink: boolean;
}

/** A host sysctl a network relies on, with its value now, as `inspectNetwork` shows it. */
export interface SysctlState {
  /** As sysctl(8) names it: `net.ipv4.ip_forward`. */
  key: string;
  /** The value now; null when the key does not exist (its interface is gone). */
  value: string | null;
  /** The value the network needs. */
  want: string;
  why: string;
}
