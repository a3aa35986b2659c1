/**
 * Other tables' forward chains as nf_tables netlink shows them (chain and rule dumps), and the
 * `nft` commands that put ctnet's accept rules into them or take them out (see foreign-rules.ts
 * for which rules, and why).
 * @module
 */
import type { NftChainInfo } from '../../netlink/nftnl/chain.js';
import { NF_DROP, NF_INET_FORWARD, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 } from '../../netlink/nftnl/constants.js';
import type { NftRuleInfo } from '../../netlink/nftnl/rule.js';
import { type AcceptRule, type ChainChange, type ForeignChain, type OwnedRule, ownerOf } from '../foreign-rules.js';
import { ownerComment } from './network-rules.js';
import type { NftCommand, NftFamily, NftStatement } from './schema.js';
import { addrField, CTNET_TABLE, match } from './table.js';

/** A ctnet rule in an nftables chain: deleted by its handle. */
export interface NftOwnedRule extends OwnedRule {
  handle: number;
}

/** A foreign nftables chain: where it is, for the commands that change it. */
export interface NftForeignChain extends ForeignChain<NftOwnedRule> {
  family: NftFamily;
  table: string;
  chain: string;
}

// The families whose forward hook routed packets pass, with the address families each can match.
const FAMILIES: ReadonlyMap<number, { name: NftFamily; families: readonly (4 | 6)[] }> = new Map([
  [NFPROTO_IPV4, { name: 'ip', families: [4] }],
  [NFPROTO_IPV6, { name: 'ip6', families: [6] }],
  [NFPROTO_INET, { name: 'inet', families: [4, 6] }],
]);

/** What the chain dump shows: other tables' forward base chains, and the networks ctnet's table has. */
export interface ForwardChains {
  /** Base chains on the forward hook of ip, ip6 and inet tables other than `inet ctnet`, any policy. */
  foreign: NftChainInfo[];
  /** The ids of the networks whose chains ctnet's table holds (`n-<id>-in`). */
  live: Set<string>;
}

/**
 * Sorts a chain dump (`decodeChain` of every message) into other tables' forward chains and the
 * networks of ctnet's own table. Bridge-family chains are left out: their forward hook sees
 * bridged frames, not the packets the host routes.
 *
 * @example
 * ```ts
 * const { foreign, live } = forwardChains(chains);
 * foreign.filter((c) => c.policy === NF_DROP); // the chains that would drop ctnet's packets
 * ```
 */
export function forwardChains(chains: readonly NftChainInfo[]): ForwardChains {
  const foreign: NftChainInfo[] = [];
  const live = new Set<string>();
  for (const c of chains) {
    if (c.family === NFPROTO_INET && c.table === CTNET_TABLE) {
      // Every network has its in-chain (networkChains() in network-rules.ts).
      const id = /^n-([0-9a-f]+)-in$/.exec(c.chain)?.[1];
      if (id !== undefined) live.add(id);
      continue;
    }
    if (c.hook === NF_INET_FORWARD && FAMILIES.has(c.family)) foreign.push(c);
  }
  return { foreign, live };
}

/** A forward chain with the rules a rule dump of it showed: those with ctnet's comments are kept. */
export function nftForeignChain(info: NftChainInfo, rules: readonly NftRuleInfo[]): NftForeignChain {
  const family = FAMILIES.get(info.family);
  if (family === undefined) throw new RangeError(`chain ${info.table} ${info.chain} has family ${info.family}, which has no forward hook for routed packets`);
  const owned: NftOwnedRule[] = [];
  for (const r of rules) {
    const owner = ownerOf(r.comment);
    if (owner !== undefined && r.table === info.table && r.chain === info.chain) owned.push({ owner, handle: r.handle });
  }
  return {
    firewall: 'nftables',
    name: `${family.name} ${info.table} ${info.chain}`,
    families: family.families,
    drops: info.policy === NF_DROP,
    owned,
    family: family.name,
    table: info.table,
    chain: info.chain,
  };
}

/**
 * The commands of `changes` for one `nft` transaction: each chain's deletes (by handle), then its
 * inserts. `insert` puts a rule at the top of the chain, before any rule of the chain's owner
 * that could drop the packet; the set is inserted last rule first so that it reads in order.
 *
 * @example
 * ```ts
 * await runner.run(nftChangeCommands(net.id, allowChanges(net, chains)));
 * ```
 */
export function nftChangeCommands(owner: string, changes: readonly ChainChange<NftForeignChain>[]): NftCommand[] {
  const cmds: NftCommand[] = [];
  for (const { chain, remove, add } of changes) {
    const where = { family: chain.family, table: chain.table, chain: chain.chain };
    for (const r of remove) cmds.push({ delete: { rule: { ...where, handle: r.handle } } });
    for (const rule of [...add].reverse()) cmds.push({ insert: { rule: { ...where, comment: ownerComment(owner), expr: acceptExpr(rule) } } });
  }
  return cmds;
}

function acceptExpr(rule: AcceptRule): NftStatement[] {
  const { family, addr, len } = rule.subnet;
  const prefix = { prefix: { addr, len } };
  const expr: NftStatement[] = [];
  if (rule.src) expr.push(match('==', addrField(family, 'saddr'), prefix));
  if (rule.dst) expr.push(match('==', addrField(family, 'daddr'), prefix));
  expr.push({ accept: null });
  return expr;
}
