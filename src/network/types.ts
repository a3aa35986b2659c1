/**
 * The engine's public value types: what callers pass in and what they get back.
 * @module
 */
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import type { DriverName } from './driver-names.js';
import type { PublishSpec } from './ports.js';

export type { PortRecord as PublishedPort } from '../state/records.js';
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

/** A network as ctnet keeps it. */
export type Network = NetworkRecord;

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

/** One container interface on one network: its record, with the network named and its gateways. */
export interface Endpoint extends Omit<EndpointRecord, 'networkId'> {
  network: string;
  /** Gateways of the network, one per family. */
  gateways: string[];
}

/** What `connect` returns: the endpoint, and the routes it added in the container. */
export interface AttachedEndpoint extends Endpoint {
  routes: { dst: string; gateway: string }[];
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
