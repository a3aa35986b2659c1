/**
 * The nftables firewall driver. Each verb builds one batch (`network-rules.ts`, `port-rules.ts`)
 * and applies it as one atomic `nft` transaction; a teardown first reads the table
 * (`table-state.ts`). The table's layout is described in `table.ts`.
 * @module
 */
import { isNotFound, wrapError } from '../../errors.js';
import type { FirewallDriver, FirewallEndpoint, FirewallNetwork } from '../driver.js';
import { buildNetworkSetup, buildNetworkTeardown } from './network-rules.js';
import { buildPortsCleanup, buildPortsSetup, buildPortsTeardown } from './port-rules.js';
import { ExecNftRunner, type NftRunner } from './runner.js';
import { readTableState, type CtnetTableState } from './table-state.js';
import { CTNET_TABLE, FAMILY } from './table.js';
import { validateNetworkId } from './validate.js';

// A teardown reads the table, then deletes what it saw. If another ctnet process deletes some of
// it in between, the transaction fails with ENOENT and the fresh listing shows what is left.
const TEARDOWN_ATTEMPTS = 3;

/**
 * The nftables firewall driver: per-network chains in the table `inet ctnet`, each change one
 * atomic `nft` transaction.
 *
 * @example
 * ```ts
 * const fw = new NftFirewallDriver();
 * const net = { id: 'abc123', name: 'net1', mode: 'nat', subnets: [{ cidr: '10.68.0.0/24', family: 4 }] } as const;
 * await fw.setupNetwork(net);
 * await fw.teardownNetwork(net);
 * ```
 */
export class NftFirewallDriver implements FirewallDriver {
  readonly name = 'nftables';
  readonly #runner: NftRunner;

  constructor(runner: NftRunner = new ExecNftRunner()) {
    this.#runner = runner;
  }

  /** Installs the network's chains, rules and elements in one transaction. */
  async setupNetwork(net: FirewallNetwork): Promise<void> {
    const cmds = buildNetworkSetup(net);
    try {
      await this.#runner.run(cmds);
    } catch (err) {
      throw wrapError(`set up firewall for network "${net.name}"`, err);
    }
  }

  /**
   * Reads the table, then removes what the network owns in one transaction (or the whole table
   * when it was the last network). A missing table or missing chains count as removed.
   */
  async teardownNetwork(net: FirewallNetwork): Promise<void> {
    validateNetworkId(net);
    for (let attempt = 1; ; attempt++) {
      try {
        const cmds = buildNetworkTeardown(net, await this.#readTable());
        if (cmds.length === 0) return;
        await this.#runner.run(cmds);
        return;
      } catch (err) {
        if (isNotFound(err) && attempt < TEARDOWN_ATTEMPTS) continue;
        throw wrapError(`tear down firewall for network "${net.name}"`, err);
      }
    }
  }

  /**
   * Publishes the endpoint's ports in one transaction, after making sure the table, base chains,
   * maps and base rules exist. A host port already published with another target fails with EEXIST.
   */
  async setupPorts(ep: FirewallEndpoint): Promise<void> {
    const cmds = buildPortsSetup(ep);
    if (cmds.length === 0) return;
    try {
      await this.#runner.run(cmds);
    } catch (err) {
      throw wrapError(`publish ports of endpoint "${ep.id}"`, err);
    }
  }

  /**
   * Deletes the endpoint's keys in one transaction. When something is gone already (ENOENT: the
   * table, a map or one element), it reads the table and deletes whatever still carries the
   * endpoint's comment; nothing left counts as done.
   */
  async teardownPorts(ep: FirewallEndpoint): Promise<void> {
    const context = `unpublish ports of endpoint "${ep.id}"`;
    const cmds = buildPortsTeardown(ep);
    if (cmds.length === 0) return;
    try {
      await this.#runner.run(cmds);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw wrapError(context, err);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const cleanup = buildPortsCleanup(ep, await this.#readTable());
        if (cleanup.length === 0) return;
        await this.#runner.run(cleanup);
        return;
      } catch (err) {
        if (isNotFound(err) && attempt < TEARDOWN_ATTEMPTS) continue;
        throw wrapError(context, err);
      }
    }
  }

  async #readTable(): Promise<CtnetTableState | undefined> {
    let listing: unknown;
    try {
      listing = await this.#runner.list(['table', FAMILY, CTNET_TABLE]);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return readTableState(listing);
  }
}
