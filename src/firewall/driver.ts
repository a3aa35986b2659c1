/**
 * The firewall seam: the network layer tells a {@link FirewallDriver} which networks exist, and the
 * driver keeps the packet filter in line. `nftables` is the real driver, `none` the no-op peer.
 * Subnets and addresses come parsed (`parseCidr`, `parseIp`); a driver formats them for its backend.
 * @module
 */
import type { Cidr } from '../inet/cidr.js';
import type { IpAddress } from '../inet/ip.js';

/** What a firewall driver needs to know about one ctnet network. */
export interface FirewallNetwork {
  /** The network id (lower-case hex). It tags every rule and element the driver makes: the owner. */
  id: string;
  /** The user's name for the network, used in error messages only. */
  name: string;
  /** The network's subnets, e.g. `10.68.0.0/24`, `fd00:1::/64`; each carries its family. */
  subnets: Cidr[];
  /**
   * `nat`: masquerade towards every other destination, inbound only for replies and DNAT;
   * `routed`: forward both ways without translation; `internal`: nothing leaves or enters the
   * network through the host. Networks never reach each other, whatever their mode.
   */
  mode: 'nat' | 'routed' | 'internal';
}

/**
 * One published port: packets for `hostIp:hostPort` (or any local address when `hostIp` is absent)
 * are DNATed to `containerIp:containerPort`. Port ranges are expanded by the caller, one mapping per port.
 */
export interface PortMapping {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  /** Host address it is published on; absent: every local address of the family. */
  hostIp?: IpAddress;
  hostPort: number;
  /** The endpoint's address of that family. */
  containerIp: IpAddress;
  containerPort: number;
}

/** What a firewall driver needs to know to publish one endpoint's ports. */
export interface FirewallEndpoint {
  /** The endpoint id (lower-case hex). It tags every element the driver makes for the endpoint. */
  id: string;
  /** The id of the network the endpoint is attached to. */
  networkId: string;
  ports: PortMapping[];
}

/** Who owns something in the packet filter, by the ids its owner tags name. */
export interface FirewallOwners {
  /** Networks with a chain, rule or element. */
  networks: string[];
  /** Endpoints with a published-port element. */
  endpoints: string[];
}

/**
 * Keeps the host's packet filter in line with ctnet's networks and published ports.
 *
 * @example
 * ```ts
 * const fw: FirewallDriver = new NftFirewallDriver();
 * await fw.setupNetwork({ id: 'abc123', name: 'net1', subnets: [parseCidr('10.68.0.0/24')], mode: 'nat' });
 * await fw.setupPorts({ id: 'ep01', networkId: 'abc123', ports: [{ family: 4, protocol: 'tcp',
 *   hostPort: 8080, containerIp: parseIp('10.68.0.2'), containerPort: 80 }] });
 * await fw.checkNetwork(net);    // [] while every rule is in place
 * await fw.networkPresent(net);  // true
 * await fw.teardownPorts(ep);
 * await fw.teardownNetwork(net);
 * ```
 */
export interface FirewallDriver {
  /** `nftables`, `none`. */
  readonly name: string;
  /**
   * Installs the network's rules in one atomic transaction. Running it again for the same network
   * replaces its rules with the same rules, and mends a network whose objects are partly or wholly
   * gone (a flushed ruleset, a deleted table, chain or element) without duplicating anything; to
   * change a network's mode, tear it down first.
   */
  setupNetwork(net: FirewallNetwork): Promise<void>;
  /**
   * Names each thing the network's rules need that the packet filter lacks, one readable line
   * each; empty when nothing is missing. `setupNetwork` mends what it names, except an object
   * that another owner holds under the network's key. It does not look at published ports: after
   * a lost table, each endpoint needs `checkPorts` and `setupPorts` as well.
   *
   * @example
   * ```ts
   * await fw.checkNetwork(net);
   * // ['chain "n-abc123-in" is missing from table inet ctnet',
   * //  'element 10.68.0.0/24 : jump n-abc123-in is missing from map "fwd_in4"']
   * // or, after `nft flush ruleset`: ['table inet ctnet is missing']
   * ```
   */
  checkNetwork(net: FirewallNetwork): Promise<string[]>;
  /**
   * A cheap probe for the connect path: false when the network's firewall is gone (its inbound
   * chain, or the whole table). It does not see a single missing rule or element; `checkNetwork`
   * does.
   *
   * @example
   * ```ts
   * if (!(await fw.networkPresent(net))) await fw.setupNetwork(net);
   * ```
   */
  networkPresent(net: FirewallNetwork): Promise<boolean>;
  /**
   * Removes everything the network owns in one atomic transaction. Idempotent: what is already
   * gone counts as removed.
   */
  teardownNetwork(net: FirewallNetwork): Promise<void>;
  /**
   * Publishes every port of the endpoint in one atomic transaction: all of them or none. Running it
   * again with the same mappings changes nothing; a host port another endpoint already publishes
   * with a different target is rejected (`isAlreadyExists`).
   */
  setupPorts(ep: FirewallEndpoint): Promise<void>;
  /**
   * Names each of the endpoint's published-port entries that the packet filter lacks, or holds
   * with another target or owner; empty when all are there. `setupPorts` mends missing ones.
   *
   * @example
   * ```ts
   * await fw.checkPorts(ep);
   * // ['element tcp . 8080 : 80 is missing from map "pub4_any_port"']
   * ```
   */
  checkPorts(ep: FirewallEndpoint): Promise<string[]>;
  /**
   * Unpublishes the endpoint's ports in one transaction. Idempotent: what is already gone counts as
   * removed.
   */
  teardownPorts(ep: FirewallEndpoint): Promise<void>;
  /**
   * The networks and endpoints that own something in the packet filter, each once; what `gc`
   * compares with the records. Only reads.
   */
  listOwners(): Promise<FirewallOwners>;
  /**
   * Removes everything these owners have (each network's chains, rules and elements, each
   * endpoint's published ports) in one transaction, and the whole table once nothing else is
   * left. Idempotent: what is already gone counts as removed.
   *
   * @example
   * ```ts
   * await fw.removeOwners({ networks: ['a1b2c3'], endpoints: [] }); // a network no record names
   * ```
   */
  removeOwners(owners: FirewallOwners): Promise<void>;
  /**
   * Releases what the driver keeps open between calls (the nftables driver's netlink socket).
   * The driver stays usable: it opens again what it needs.
   */
  close?(): void;
}
