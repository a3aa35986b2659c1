/**
 * The firewall seam: the network layer tells a {@link FirewallDriver} which networks exist, and the
 * driver keeps the packet filter in line. `nftables` is the real driver, `none` the no-op peer.
 * @module
 */

/** What a firewall driver needs to know about one ctnet network. */
export interface FirewallNetwork {
  /** The network id (lower-case hex). It tags every rule and element the driver makes: the owner. */
  id: string;
  /** The user's name for the network, used in error messages only. */
  name: string;
  /** Canonical CIDR text, e.g. `10.68.0.0/24`, `fd00:1::/64`. */
  subnets: { cidr: string; family: 4 | 6 }[];
  /**
   * `nat`: masquerade towards every other destination, inbound only for replies and DNAT;
   * `routed`: forward both ways without translation; `internal`: nothing leaves or enters the
   * network through the host. Networks never reach each other, whatever their mode.
   */
  mode: 'nat' | 'routed' | 'internal';
}

/**
 * Keeps the host's packet filter in line with ctnet's networks.
 *
 * @example
 * ```ts
 * const fw: FirewallDriver = new NftFirewallDriver();
 * await fw.setupNetwork({ id: 'abc123', name: 'net1', subnets: [{ cidr: '10.68.0.0/24', family: 4 }], mode: 'nat' });
 * await fw.teardownNetwork(net);
 * ```
 */
export interface FirewallDriver {
  /** `nftables`, `none`. */
  readonly name: string;
  /**
   * Installs the network's rules in one atomic transaction. Running it again for the same network
   * replaces its rules with the same rules; to change a network's mode, tear it down first.
   */
  setupNetwork(net: FirewallNetwork): Promise<void>;
  /**
   * Removes everything the network owns in one atomic transaction. Idempotent: what is already
   * gone counts as removed.
   */
  teardownNetwork(net: FirewallNetwork): Promise<void>;
}
