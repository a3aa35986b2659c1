/**
 * What ctnet puts into other firewalls' forward chains, and when: the one place for the rules,
 * shared by the nftables chains (iptables-nft's among them) and iptables-legacy's FORWARD chain.
 *
 * In netfilter every base chain on the forward hook sees a forwarded packet and a drop in any of
 * them wins, so a chain of another table whose policy is drop (Docker leaves `iptables -P FORWARD
 * DROP`) cuts ctnet's networks off whatever ctnet's own table accepts. Into each such chain ctnet
 * inserts, per subnet of a network, rules that accept the subnet's traffic, each with the
 * network's owner comment (`ctnet net <id>`), as Docker accepts its bridges' traffic in FORWARD.
 * They accept by address only: ctnet's own table still decides what a network lets through (any
 * drop wins there too), and rules without connection tracking are ones iptables-nft can still
 * read (a chain holding nft's native `ct state` is "incompatible" to it, and Docker's own
 * `iptables` calls would then fail).
 * @module
 */
import type { FirewallNetwork } from './driver.js';
import { validateNetwork, type ParsedSubnet } from './nft/validate.js';

/** One accept rule for a subnet: packets from it (`src`), to it (`dst`), or both (within it). */
export interface AcceptRule {
  subnet: ParsedSubnet;
  src: boolean;
  dst: boolean;
}

/**
 * The rules network `net` needs in a forward chain that drops by default: for each subnet, its
 * packets out (`src`) and in (`dst`), or for an internal network only those within the subnet
 * (ptp containers reach each other through the host's forwarding, and br_netfilter sends bridged
 * frames through the forward hook as well).
 *
 * @throws {TypeError} if the id is not hex or a subnet is not CIDR text of its family.
 * @example
 * ```ts
 * acceptRules({ id: 'ab12', name: 'n', mode: 'nat', subnets: [parseCidr('10.68.0.0/24')] }).length; // 2
 * ```
 */
export function acceptRules(net: FirewallNetwork): AcceptRule[] {
  return validateNetwork(net).flatMap((subnet): AcceptRule[] =>
    net.mode === 'internal'
      ? [{ subnet, src: true, dst: true }]
      : [
          { subnet, src: true, dst: false },
          { subnet, src: false, dst: true },
        ],
  );
}

/** Which firewall a foreign chain belongs to. */
export type ForeignFirewallName = 'nftables' | 'iptables-legacy' | 'ip6tables-legacy';

/** A rule ctnet made in a foreign chain, found by its owner comment. */
export interface OwnedRule {
  /** The id of the network whose comment it carries. */
  owner: string;
}

/**
 * A base chain on the forward hook that belongs to another firewall, with ctnet's rules in it.
 * Each firewall's chains extend it with where they are and how their rules are deleted.
 */
export interface ForeignChain<R extends OwnedRule = OwnedRule> {
  firewall: ForeignFirewallName;
  /** As its firewall names it: `ip filter FORWARD` (nftables), `filter FORWARD` (iptables-legacy). */
  name: string;
  /** The address families its rules can match: an `ip` table IPv4 only, `inet` both. */
  families: readonly (4 | 6)[];
  /** Its policy is drop: what reaches its end is dropped. */
  drops: boolean;
  /** The rules in it that carry a ctnet owner comment. */
  owned: R[];
}

/** The kind of rule a chain type holds. */
export type RuleOf<C extends ForeignChain> = C['owned'][number];

/** What one change does to one chain: ctnet's rules to delete from it and rules to insert. */
export interface ChainChange<C extends ForeignChain = ForeignChain> {
  chain: C;
  remove: RuleOf<C>[];
  add: AcceptRule[];
}

function ownedWhere<C extends ForeignChain>(chain: C, keep: (r: OwnedRule) => boolean): RuleOf<C>[] {
  return chain.owned.filter(keep);
}

/**
 * The network id an owner comment names (`ctnet net ab12` → `ab12`), or undefined for any other
 * comment.
 */
export function ownerOf(comment: string | undefined): string | undefined {
  return comment === undefined ? undefined : /^ctnet net ([0-9a-f]{1,64})$/.exec(comment)?.[1];
}

/** The rules `net` needs in `chain`: none unless it drops, none for families it cannot match. */
export function wantedIn(chain: ForeignChain, rules: readonly AcceptRule[]): AcceptRule[] {
  return chain.drops ? rules.filter((r) => chain.families.includes(r.subnet.family)) : [];
}

/**
 * One line per drop chain that lacks `net`'s rules (or holds some but not all of them); empty
 * when every chain is covered.
 *
 * @example
 * ```ts
 * missingRules(net, chains);
 * // ['chain ip filter FORWARD (nftables) drops forwarded packets by default and holds 0 of the 2 accept rules of network "net1"']
 * ```
 */
export function missingRules(net: FirewallNetwork, chains: readonly ForeignChain[]): string[] {
  const rules = acceptRules(net);
  return chains.flatMap((chain) => {
    const wanted = wantedIn(chain, rules).length;
    const have = chain.owned.filter((r) => r.owner === net.id).length;
    if (have === wanted) return [];
    return [`chain ${chain.name} (${chain.firewall}) drops forwarded packets by default and holds ${have} of the ${wanted} accept rules of network "${net.name}"`];
  });
}

/**
 * What makes every drop chain hold exactly `net`'s rules, one set per subnet: for a chain that
 * holds another number of them (none, or some left by a change that did not finish), delete those
 * and insert the whole set. Chains that are right already are left out.
 */
export function allowChanges<C extends ForeignChain>(net: FirewallNetwork, chains: readonly C[]): ChainChange<C>[] {
  const rules = acceptRules(net);
  return chains.flatMap((chain) => {
    const add = wantedIn(chain, rules);
    const remove = ownedWhere(chain, (r) => r.owner === net.id);
    return remove.length === add.length ? [] : [{ chain, remove, add }];
  });
}

/**
 * What removes every rule of a network that is gone from every foreign chain, whatever its policy
 * now: those of `net` and those of any network not in `live` (left by a network removed while
 * this chain was out of reach, or by one whose removal was killed), so the last network takes
 * every ctnet rule with it.
 */
export function revokeChanges<C extends ForeignChain>(net: FirewallNetwork, chains: readonly C[], live: ReadonlySet<string>): ChainChange<C>[] {
  return chains.flatMap((chain) => {
    const remove = ownedWhere(chain, (r) => r.owner === net.id || !live.has(r.owner));
    return remove.length === 0 ? [] : [{ chain, remove, add: [] }];
  });
}
