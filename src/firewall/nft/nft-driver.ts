/**
 * The nftables firewall driver. Each network verb builds one batch (`network-rules.ts`) and
 * applies it as one atomic `nft` transaction; a teardown first reads the table (`table-state.ts`).
 * Published ports are elements only, so they go over nf_tables netlink (`port-elements.ts`,
 * `netlink.ts`), with the `nft` batches of `port-rules.ts` as the fallback. A check compares the
 * table with the batch a setup would apply (`check.ts`); the presence probe asks netlink for one
 * chain. The table's layout is described in `table.ts`. With a `ForeignFirewall` (`../foreign.ts`),
 * each network verb also keeps the network's accept rules in other tables' forward drop chains.
 * @module
 */
import { debuglog } from 'node:util';
import { errorMessage, isNotFound, NetlinkError, TeardownError, TimeoutError, wrapError } from '../../errors.js';
import type { BatchMessage } from '../../netlink/batch.js';
import { getChainMessage } from '../../netlink/nftnl/chain.js';
import { NFPROTO_INET } from '../../netlink/nftnl/constants.js';
import { splitNftBatch } from '../../netlink/nftnl/nfnetlink.js';
import type { FirewallDriver, FirewallEndpoint, FirewallNetwork, FirewallOwners } from '../driver.js';
import type { ForeignFirewall } from '../foreign.js';
import { elementsAndTheirSets, missingFromTable } from './check.js';
import { SocketNftNetlink, type NftNetlink } from './netlink.js';
import { buildNetworkSetup, buildNetworkTeardown, buildOwnersTeardown, networkChains, tableOwners } from './network-rules.js';
import { portsSetupMessages, portsTeardownMessages } from './port-elements.js';
import { buildPortsCleanup, buildPortsSetup, buildPortsTeardown } from './port-rules.js';
import { ExecNftRunner, type NftRunner } from './runner.js';
import type { NftCommand } from './schema.js';
import { readTableState, type CtnetTableState } from './table-state.js';
import { CTNET_TABLE, FAMILY } from './table.js';
import { validateNetworkId } from './validate.js';

const debug = debuglog('ctnet');

/** Options of {@link NftFirewallDriver}. */
export interface NftFirewallDriverOptions {
  /**
   * Where published-port elements go first. Default: a NETLINK_NETFILTER socket opened on first
   * use. `null`: always through `nft`, as network changes are.
   */
  netlink?: NftNetlink | null;
  /**
   * Coexistence with other firewalls: where set, setting a network up also puts its accept rules
   * into other tables' forward chains whose policy is drop (Docker's `iptables -P FORWARD DROP`),
   * tearing it down takes them out, and the check and the probe look for them. Default: none, the
   * driver keeps to its own table (the engine gives its default driver one).
   */
  foreign?: ForeignFirewall;
}

// Listings #deleteListed makes at most while its deletes keep finding something gone (ENOENT).
const TEARDOWN_ATTEMPTS = 3;

/**
 * The nftables firewall driver: per-network chains in the table `inet ctnet`, each change one
 * atomic transaction (`nft` for networks, an nf_tables netlink batch for published ports).
 *
 * @example
 * ```ts
 * const fw = new NftFirewallDriver();
 * const net: FirewallNetwork = { id: 'abc123', name: 'net1', mode: 'nat', subnets: [parseCidr('10.68.0.0/24')] };
 * await fw.setupNetwork(net);
 * await fw.teardownNetwork(net);
 * ```
 */
export class NftFirewallDriver implements FirewallDriver {
  readonly name = 'nftables';
  readonly #runner: NftRunner;
  readonly #netlink: NftNetlink | null;
  readonly #foreign: ForeignFirewall | undefined;

  constructor(runner: NftRunner = new ExecNftRunner(), options: NftFirewallDriverOptions = {}) {
    this.#runner = runner;
    this.#netlink = options.netlink === undefined ? new SocketNftNetlink() : options.netlink;
    this.#foreign = options.foreign;
  }

  /** Closes the netlink sockets, if opened; the driver opens others when it needs them. */
  close(): void {
    this.#netlink?.close();
    this.#foreign?.close();
  }

  /**
   * Installs the network's chains, rules and elements in one transaction, then its accept rules
   * in foreign drop chains. When those fail, the network's own rules stay: `teardownNetwork`
   * takes them out, and running the setup again finishes it (the engine undoes a create with the
   * teardown, and leaves a mended network as it was).
   */
  async setupNetwork(net: FirewallNetwork): Promise<void> {
    try {
      await this.#runner.run(buildNetworkSetup(net));
      await this.#foreign?.allow(net);
    } catch (err) {
      throw wrapError(`set up firewall for network "${net.name}"`, err);
    }
  }

  /**
   * Lists the table once (`nft -j list table inet ctnet`) and names what the network's setup
   * batch would add: the table, base chains and their rules, the shared sets and maps, the
   * network's chains and rules, its dispatch and subnet elements.
   */
  async checkNetwork(net: FirewallNetwork): Promise<string[]> {
    const expected = buildNetworkSetup(net);
    try {
      return [...missingFromTable(expected, await this.#readTable()), ...((await this.#foreign?.missing(net)) ?? [])];
    } catch (err) {
      throw wrapError(`check firewall of network "${net.name}"`, err);
    }
  }

  /**
   * Asks the kernel for the network's `n-<id>-in` chain with one NFT_MSG_GETCHAIN on the kept
   * netlink socket (ENOENT: the chain or the whole table is gone). When netlink cannot be used, it
   * lists the table through `nft` instead. With a `ForeignFirewall`, false too when a foreign drop
   * chain lacks the network's accept rules (a chain dump, and a rule dump of each drop chain).
   */
  async networkPresent(net: FirewallNetwork): Promise<boolean> {
    if (!(await this.#chainPresent(net))) return false;
    try {
      return this.#foreign === undefined || (await this.#foreign.missing(net)).length === 0;
    } catch (err) {
      throw wrapError(`probe firewall of network "${net.name}"`, err);
    }
  }

  async #chainPresent(net: FirewallNetwork): Promise<boolean> {
    validateNetworkId(net);
    const context = `probe firewall of network "${net.name}"`;
    const chain = networkChains(net.id).in;
    if (this.#netlink !== null) {
      try {
        await this.#netlink.request(getChainMessage({ family: NFPROTO_INET, table: CTNET_TABLE, chain }));
        return true;
      } catch (err) {
        if (err instanceof NetlinkError && err.errnoName === 'ENOENT') return false;
        if (!canFallBack(err)) throw wrapError(context, err);
        debug('%s over netlink failed, using nft: %s', context, errorMessage(err));
      }
    }
    try {
      return (await this.#readTable())?.chains.includes(chain) ?? false;
    } catch (err) {
      throw wrapError(context, err);
    }
  }

  /**
   * Reads the table, then removes what the network owns in one transaction (or the whole table
   * when it was the last network). A missing table or missing chains count as removed. With a
   * `ForeignFirewall`, then its rules in foreign chains, and those of networks that are gone.
   */
  async teardownNetwork(net: FirewallNetwork): Promise<void> {
    validateNetworkId(net);
    const context = `tear down firewall for network "${net.name}"`;
    await this.#deleteListed((table) => buildNetworkTeardown(net, table), context);
    try {
      await this.#foreign?.revoke(net);
    } catch (err) {
      throw wrapError(context, err);
    }
  }

  /**
   * Publishes the endpoint's ports: the elements over netlink into the maps a network setup made,
   * one transaction per datagram (up to some 8000 ports each; a failure takes back the ones before
   * it). When the maps are missing (ENOENT) or netlink cannot be used, the `nft` batch that also
   * makes the table, base chains, maps and base rules does it, in one transaction. A host port
   * already published with another target fails with EEXIST.
   */
  async setupPorts(ep: FirewallEndpoint): Promise<void> {
    const context = `publish ports of endpoint "${ep.id}"`;
    // Both builders check the input the same way, so bad input fails here, before any change.
    const messages = portsSetupMessages(ep);
    if (messages.length === 0) return;
    if (this.#netlink !== null) {
      let applied = 0;
      try {
        for (const batch of splitNftBatch(messages, this.#netlink.maxBatchBytes)) {
          await this.#netlink.apply(batch);
          applied++;
        }
        return;
      } catch (err) {
        // Ports beyond one datagram (some 8000) go in several transactions: take back those made.
        if (applied > 0) await this.#undoPartialSetup(ep, context, err);
        if (!canFallBack(err)) throw wrapError(context, err);
        debug('%s over netlink failed, using nft: %s', context, errorMessage(err));
      }
    }
    try {
      await this.#runner.run(buildPortsSetup(ep));
    } catch (err) {
      throw wrapError(context, err);
    }
  }

  /**
   * Lists the table once and names each of the endpoint's map elements (both maps of each pair)
   * that is missing, or there under the endpoint's key with another target or owner, and the
   * table or maps when they are gone. No ports: nothing to miss.
   */
  async checkPorts(ep: FirewallEndpoint): Promise<string[]> {
    const expected = elementsAndTheirSets(buildPortsSetup(ep));
    if (expected.length === 0) return [];
    try {
      return missingFromTable(expected, await this.#readTable());
    } catch (err) {
      throw wrapError(`check published ports of endpoint "${ep.id}"`, err);
    }
  }

  /**
   * Deletes the endpoint's keys (over netlink, one transaction per datagram; else through `nft`,
   * in one). When something is gone already (ENOENT: the table, a map or one element), it reads
   * the table and deletes whatever still carries the endpoint's comment; nothing left counts as done.
   */
  async teardownPorts(ep: FirewallEndpoint): Promise<void> {
    const context = `unpublish ports of endpoint "${ep.id}"`;
    const messages = portsTeardownMessages(ep);
    if (messages.length === 0) return;
    if (await this.#deleteKeys(ep, messages, context)) return;
    await this.#deleteListed((table) => buildPortsCleanup(ep, table), context);
  }

  /** Lists the table once and names who owns its chains, rules and elements; no table: nobody. */
  async listOwners(): Promise<FirewallOwners> {
    try {
      const table = await this.#readTable();
      return table === undefined ? { networks: [], endpoints: [] } : tableOwners(table);
    } catch (err) {
      throw wrapError('list the owners of the firewall', err);
    }
  }

  /** Reads the table, then removes what the owners have in one transaction (or the whole table). */
  async removeOwners(owners: FirewallOwners): Promise<void> {
    if (owners.networks.length === 0 && owners.endpoints.length === 0) return;
    const who = [...owners.networks.map((id) => `network ${id}`), ...owners.endpoints.map((id) => `endpoint ${id}`)].join(', ');
    await this.#deleteListed((table) => buildOwnersTeardown(owners, table), `remove the firewall objects of ${who}`);
  }

  // A failed batch changed nothing, but the ones before it did; the teardown deletes the endpoint's
  // keys, or (ENOENT on a key never added) whatever carries its comment.
  async #undoPartialSetup(ep: FirewallEndpoint, context: string, err: unknown): Promise<void> {
    try {
      await this.teardownPorts(ep);
    } catch (undoErr) {
      throw new TeardownError([err, undoErr], `${context}: ${errorMessage(err)} (and removing the ports published so far failed: ${errorMessage(undoErr)})`);
    }
  }

  // True when the keys are deleted, false when something was gone already (ENOENT). Several
  // batches may delete part of the keys before one finds a key gone; the clean-up does the rest.
  async #deleteKeys(ep: FirewallEndpoint, messages: BatchMessage[], context: string): Promise<boolean> {
    if (this.#netlink !== null) {
      try {
        for (const batch of splitNftBatch(messages, this.#netlink.maxBatchBytes)) await this.#netlink.apply(batch);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        if (!canFallBack(err)) throw wrapError(context, err);
        debug('%s over netlink failed, using nft: %s', context, errorMessage(err));
      }
    }
    try {
      await this.#runner.run(buildPortsTeardown(ep));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw wrapError(context, err);
    }
  }

  // Reads the table, then deletes in one transaction what `build` picks from it (nothing: done). If
  // another ctnet process deletes some of it in between, the transaction fails with ENOENT and a
  // fresh listing shows what is left.
  async #deleteListed(build: (table: CtnetTableState | undefined) => NftCommand[], context: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const cmds = build(await this.#readTable());
        if (cmds.length === 0) return;
        await this.#runner.run(cmds);
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

/**
 * Whether a failed netlink batch should be done again through `nft`: when the kernel found
 * something missing (ENOENT: `nft` makes the table and maps), or when the socket itself failed
 * (opening, sending, a datagram over the socket's buffer). Not when the kernel refused the change
 * (EEXIST, EPERM, ...: `nft` would be refused alike) or did not answer (its state is unknown).
 */
function canFallBack(err: unknown): boolean {
  if (err instanceof NetlinkError) return isNotFound(err);
  return !(err instanceof TimeoutError) && !(err instanceof TypeError) && !(err instanceof RangeError);
}
