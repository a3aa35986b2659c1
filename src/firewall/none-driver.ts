/**
 * The firewall driver that does nothing, for hosts where something else owns the packet filter
 * (and for tests of the layers above). A peer of the nftables driver, like netavark's `fwnone`.
 * @module
 */
import type { FirewallDriver, FirewallEndpoint, FirewallNetwork, FirewallOwners } from './driver.js';

/**
 * Accepts every request and changes nothing. Networks set up with it are neither masqueraded
 * nor isolated from each other by ctnet, and their published ports are not forwarded.
 *
 * @example
 * ```ts
 * const fw = new NoneFirewallDriver();
 * await fw.setupNetwork(net); // no-op
 * ```
 */
export class NoneFirewallDriver implements FirewallDriver {
  readonly name = 'none';

  /** Does nothing. */
  setupNetwork(_net: FirewallNetwork): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing is ever missing: `[]`. */
  checkNetwork(_net: FirewallNetwork): Promise<string[]> {
    return Promise.resolve([]);
  }

  /** Nothing is ever missing: `true`. */
  networkPresent(_net: FirewallNetwork): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Does nothing. */
  teardownNetwork(_net: FirewallNetwork): Promise<void> {
    return Promise.resolve();
  }

  /** Does nothing. */
  setupPorts(_ep: FirewallEndpoint): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing is ever missing: `[]`. */
  checkPorts(_ep: FirewallEndpoint): Promise<string[]> {
    return Promise.resolve([]);
  }

  /** Does nothing. */
  teardownPorts(_ep: FirewallEndpoint): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing is ever made: nobody owns anything. */
  listOwners(): Promise<FirewallOwners> {
    return Promise.resolve({ networks: [], endpoints: [] });
  }

  /** Does nothing. */
  removeOwners(_owners: FirewallOwners): Promise<void> {
    return Promise.resolve();
  }
}
