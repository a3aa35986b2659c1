/**
 * A firewall driver for the engine's unit tests: it keeps what it was told in maps, and fails the
 * next call named in `failNext`. It never touches the host.
 * @module
 */
import type { FirewallDriver, FirewallEndpoint, FirewallNetwork, FirewallOwners } from './driver.js';

/** A firewall that keeps what it was told, and fails the next call of `failNext`. */
export class FakeFirewall implements FirewallDriver {
  readonly name = 'fake';
  readonly networks = new Map<string, FirewallNetwork>();
  readonly endpoints = new Map<string, FirewallEndpoint>();
  failNext: keyof FirewallDriver | undefined;
  /** The next setupNetwork makes the network's rules, then fails (as in another firewall's chain). */
  failPartway = false;

  /** `fn`'s result, or a rejection when `op` is the call to fail. */
  #call<T>(op: keyof FirewallDriver, fn: () => T): Promise<T> {
    return new Promise((resolve) => {
      if (this.failNext === op) {
        this.failNext = undefined;
        throw new Error(`firewall ${op} failed`);
      }
      resolve(fn());
    });
  }

  setupNetwork(net: FirewallNetwork): Promise<void> {
    return this.#call('setupNetwork', () => {
      this.networks.set(net.id, net);
      if (this.failPartway) {
        this.failPartway = false;
        throw new Error('firewall setupNetwork failed part-way');
      }
    });
  }

  checkNetwork(net: FirewallNetwork): Promise<string[]> {
    return this.#call('checkNetwork', () => (this.networks.has(net.id) ? [] : [`chains of network ${net.id} are missing`]));
  }

  networkPresent(net: FirewallNetwork): Promise<boolean> {
    return this.#call('networkPresent', () => this.networks.has(net.id));
  }

  teardownNetwork(net: FirewallNetwork): Promise<void> {
    return this.#call('teardownNetwork', () => void this.networks.delete(net.id));
  }

  setupPorts(ep: FirewallEndpoint): Promise<void> {
    return this.#call('setupPorts', () => void this.endpoints.set(ep.id, ep));
  }

  checkPorts(ep: FirewallEndpoint): Promise<string[]> {
    return this.#call('checkPorts', () => (this.endpoints.has(ep.id) ? [] : [`ports of endpoint ${ep.id} are missing`]));
  }

  teardownPorts(ep: FirewallEndpoint): Promise<void> {
    return this.#call('teardownPorts', () => void this.endpoints.delete(ep.id));
  }

  listOwners(): Promise<FirewallOwners> {
    return this.#call('listOwners', () => ({ networks: [...this.networks.keys()].sort(), endpoints: [...this.endpoints.keys()].sort() }));
  }

  removeOwners(owners: FirewallOwners): Promise<void> {
    return this.#call('removeOwners', () => {
      for (const id of owners.networks) this.networks.delete(id);
      for (const id of owners.endpoints) this.endpoints.delete(id);
    });
  }
}
