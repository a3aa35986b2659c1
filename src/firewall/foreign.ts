/**
 * Coexistence with other firewalls: their forward chains whose policy is drop, and ctnet's accept
 * rules in them (foreign-rules.ts says which rules and why). nftables chains, iptables-nft's
 * among them, are read over nf_tables netlink (a dump of every chain, then the rules of the few
 * on the forward hook: well under a millisecond, cheap enough for every connect) and changed in
 * one `nft` transaction; legacy iptables' FORWARD chain through `iptables-legacy-save` and
 * `-restore` (legacy.ts), only when legacy iptables is in use.
 * @module
 */
import { debuglog } from 'node:util';
import { errorMessage, isNotFound, wrapError } from '../errors.js';
import { decodeChain, listChainsMessage } from '../netlink/nftnl/chain.js';
import { NF_DROP } from '../netlink/nftnl/constants.js';
import { decodeRule, listRulesMessage } from '../netlink/nftnl/rule.js';
import type { FirewallNetwork } from './driver.js';
import type { HostChange } from './host-change.js';
import { allowChanges, type ChainChange, type ForeignFirewallName, missingRules, revokeChanges } from './foreign-rules.js';
import { ExecLegacyIptables, type LegacyForeignChain, type LegacyIptables, legacyForwardChain, parseSave, restoreText } from './legacy.js';
import { forwardChains, nftChangeCommands, nftForeignChain, type NftForeignChain } from './nft/foreign-chains.js';
import { type NftNetlink, SocketNftNetlink } from './nft/netlink.js';
import { ExecNftRunner, type NftRunner } from './nft/runner.js';

const debug = debuglog('ctnet');

// Reads and writes another process may race (Docker deleting a rule or chain in between): each
// failed write with ENOENT reads again, this many times in all.
const ATTEMPTS = 3;



/** A foreign chain that drops forwarded packets by default, as `inspect` reports it. */
export interface ForeignDrop {
  firewall: ForeignFirewallName;
  chain: string;
  /** The names of the networks asked about whose accept rules the chain lacks (some or all). */
  uncovered: string[];
}

/** What `inspect` found. */
export interface ForeignReport {
  drops: ForeignDrop[];
  /** Legacy tables in use that could not be read, one line each (the tools missing, say). */
  unreadable: string[];
}

/** Options of {@link ForeignFirewall}. */
export interface ForeignFirewallOptions {
  /** Applies the nft changes; default `ExecNftRunner`. */
  runner?: NftRunner;
  /** Reads the chains and rules; default a NETLINK_NETFILTER socket opened on first use. */
  netlink?: NftNetlink;
  /** Legacy iptables; default `ExecLegacyIptables`. */
  legacy?: LegacyIptables;
  /** Called for every change to another firewall's chain, right after it. */
  onHostChange?: (change: HostChange) => void;
}

/** What one change does to the chains of each kind. */
interface Plan {
  nft: ChainChange<NftForeignChain>[];
  legacy: ChainChange<LegacyForeignChain>[];
}

/** Why a change was made, as `onHostChange` tells it. */
type Why = (action: HostChange['action'], change: ChainChange) => string;

/** The foreign chains at one moment, and the networks ctnet's table holds. */
interface View {
  nft: NftForeignChain[];
  legacy: LegacyForeignChain[];
  live: Set<string>;
  unreadable: string[];
}

/**
 * Other firewalls' forward drop policies, and ctnet's accept rules in them.
 *
 * @example
 * ```ts
 * const foreign = new ForeignFirewall({ onHostChange: (c) => console.log(c) });
 * await foreign.allow(net);        // after `iptables -P FORWARD DROP`: 2 rules into ip filter FORWARD
 * await foreign.missing(net);      // []
 * await foreign.revoke(net);       // the 2 rules go again
 * foreign.close();
 * ```
 */
export class ForeignFirewall {
  readonly #runner: NftRunner;
  readonly #netlink: NftNetlink;
  readonly #legacy: LegacyIptables;
  readonly #onHostChange: ((change: HostChange) => void) | undefined;

  constructor(options: ForeignFirewallOptions = {}) {
    this.#runner = options.runner ?? new ExecNftRunner();
    this.#netlink = options.netlink ?? new SocketNftNetlink();
    this.#legacy = options.legacy ?? new ExecLegacyIptables();
    this.#onHostChange = options.onHostChange;
  }

  /**
   * One line per foreign drop chain that lacks the network's accept rules; empty when none does
   * (or none drops). A legacy table that cannot be read counts as holding no drop.
   */
  async missing(net: FirewallNetwork): Promise<string[]> {
    const view = await this.#read(true);
    return missingRules(net, [...view.nft, ...view.legacy]);
  }

  /**
   * Puts the network's accept rules into every foreign chain that drops by default and lacks
   * them, one set per subnet, and reports each change. Chains that hold them already are left
   * alone; a chain with some of them gets the whole set anew.
   */
  async allow(net: FirewallNetwork): Promise<void> {
    const plan = (view: View): Plan => ({ nft: allowChanges(net, view.nft), legacy: allowChanges(net, view.legacy) });
    await this.#change(net, true, plan, (action) =>
      action === 'add' ? `it drops forwarded packets by default, which would cut network "${net.name}" off` : `network "${net.name}" had only part of its rules there`,
    );
  }

  /**
   * Removes the network's rules from every foreign chain, whatever its policy now, and the rules
   * of networks ctnet's table no longer has: after the last network, no ctnet rule is left.
   */
  async revoke(net: FirewallNetwork): Promise<void> {
    const plan = (view: View): Plan => ({ nft: revokeChanges(net, view.nft, view.live), legacy: revokeChanges(net, view.legacy, view.live) });
    await this.#change(net, false, plan, (_action, change) => {
      const gone = change.remove.filter((r) => r.owner !== net.id).length;
      return gone === 0 ? `network "${net.name}" is removed` : `network "${net.name}" is removed, and ${gone} of them belonged to networks that are gone`;
    });
  }

  /**
   * Every foreign chain that drops forwarded packets by default, with the networks of `nets`
   * whose rules it lacks, for `ctnet doctor`.
   */
  async inspect(nets: readonly FirewallNetwork[]): Promise<ForeignReport> {
    const view = await this.#read(true);
    const drops = [...view.nft, ...view.legacy].filter((c) => c.drops).map((chain): ForeignDrop => ({
      firewall: chain.firewall,
      chain: chain.name,
      uncovered: nets.filter((n) => missingRules(n, [chain]).length > 0).map((n) => n.name),
    }));
    return { drops, unreadable: view.unreadable };
  }

  /** Closes the netlink socket, if one was opened. */
  close(): void {
    this.#netlink.close();
  }

  // Reads, plans and applies: the nft part in one transaction, then each legacy family in one
  // restore, each change reported as soon as it is made.
  async #change(net: FirewallNetwork, dropsOnly: boolean, plan: (view: View) => Plan, why: Why): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const changes = plan(await this.#read(dropsOnly));
      try {
        const cmds = nftChangeCommands(net.id, changes.nft);
        if (cmds.length > 0) await this.#runner.run(cmds);
      } catch (err) {
        // A rule or chain went away since the listing: look again.
        if (isNotFound(err) && attempt < ATTEMPTS) continue;
        throw err;
      }
      this.#report(changes.nft, why);
      let again = false;
      for (const family of [4, 6] as const) {
        const mine = changes.legacy.filter((c) => c.chain.family === family);
        const text = restoreText(net.id, mine);
        if (text === '') continue;
        try {
          await this.#legacy.restore(family, text);
        } catch (err) {
          // A restore is all or nothing, and a delete whose rule went since the save (Docker
          // flushing FORWARD) fails it: look again, as for nft. What is applied plans to nothing.
          if (attempt >= ATTEMPTS) throw err;
          again = true;
          break;
        }
        this.#report(mine, why);
      }
      if (!again) return;
    }
  }

  #report(changes: readonly ChainChange[], why: Why): void {
    for (const change of changes) {
      const { chain, remove, add } = change;
      if (remove.length > 0) this.#tell({ action: 'remove', firewall: chain.firewall, chain: chain.name, rules: remove.length, why: why('remove', change) });
      if (add.length > 0) this.#tell({ action: 'add', firewall: chain.firewall, chain: chain.name, rules: add.length, why: why('add', change) });
    }
  }

  #tell(change: HostChange): void {
    debug('%s %d rules %s %s chain %s: %s', change.action, change.rules, change.action === 'add' ? 'to' : 'from', change.firewall, change.chain, change.why);
    this.#onHostChange?.(change);
  }

  async #read(dropsOnly: boolean): Promise<View> {
    const { foreign, live } = forwardChains((await this.#netlink.dump(listChainsMessage())).map(decodeChain));
    const nft: NftForeignChain[] = [];
    for (const info of foreign) {
      if (dropsOnly && info.policy !== NF_DROP) continue;
      let payloads: Buffer[];
      try {
        payloads = await this.#netlink.dump(listRulesMessage(info));
      } catch (err) {
        if (isNotFound(err)) continue; // deleted since the chain dump
        throw wrapError(`list the rules of chain ${info.table} ${info.chain}`, err);
      }
      nft.push(nftForeignChain(info, payloads.map(decodeRule)));
    }
    const legacy: LegacyForeignChain[] = [];
    const unreadable: string[] = [];
    for (const family of [4, 6] as const) {
      if (!this.#legacy.tablesInUse(family).includes('filter')) continue;
      let chain: LegacyForeignChain | undefined;
      try {
        chain = legacyForwardChain(family, parseSave(await this.#legacy.save(family, 'filter')));
      } catch (err) {
        // Legacy tables that another tool made (a kube-proxy image with its own iptables, say)
        // while this host has no iptables-legacy: ctnet cannot see them; `ctnet doctor` says so.
        debug('cannot read legacy iptables (IPv%d): %s', family, errorMessage(err));
        unreadable.push(`the legacy iptables filter table (IPv${family}) is in use but cannot be read: ${errorMessage(err)}`);
        continue;
      }
      if (chain !== undefined && (chain.drops || !dropsOnly)) legacy.push(chain);
    }
    return { nft, legacy, live, unreadable };
  }
}
