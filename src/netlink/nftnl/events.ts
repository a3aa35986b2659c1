/**
 * The ruleset's change notifications (group NFNLGRP_NFTABLES on a NETLINK_NETFILTER socket). When a
 * transaction commits, the kernel announces every table, chain, rule, set and element it added or
 * deleted, with the attributes a listing gives, then one NFT_MSG_NEWGEN. `nft flush ruleset`
 * announces each table as deleted, after its rules, sets and chains.
 * @module
 */
import { attrMap, readString } from '../attr.js';
import type { NetlinkMessage } from '../message.js';
import {
  NFGENMSG_LEN,
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG_DELCHAIN,
  NFT_MSG_DELRULE,
  NFT_MSG_DELSET,
  NFT_MSG_DELSETELEM,
  NFT_MSG_DELTABLE,
  NFT_MSG_NEWCHAIN,
  NFT_MSG_NEWRULE,
  NFT_MSG_NEWSET,
  NFT_MSG_NEWSETELEM,
  NFT_MSG_NEWTABLE,
  NFTA_CHAIN_NAME,
  NFTA_CHAIN_TABLE,
  NFTA_RULE_CHAIN,
  NFTA_RULE_TABLE,
  NFTA_RULE_USERDATA,
  NFTA_SET_NAME,
  NFTA_SET_TABLE,
  NFTA_TABLE_NAME,
} from './constants.js';
import { decodeNfgenmsg } from './nfnetlink.js';
import { decodeSetElemList } from './setelem.js';
import { decodeRuleComment } from './udata.js';

/** Where a changed object lives: its table's family (an NFPROTO_* value) and name. */
interface InTable {
  op: 'new' | 'del';
  family: number;
  table: string;
}

/** One announced change of the ruleset. */
export type NftEvent =
  | (InTable & { object: 'table' })
  | (InTable & { object: 'chain'; chain: string })
  | (InTable & { object: 'rule'; chain: string; comment: string | undefined })
  | (InTable & { object: 'set'; set: string })
  | (InTable & { object: 'element'; set: string; comments: (string | undefined)[] });

type Named = 'table' | 'chain' | 'rule' | 'set';

// Each op: what it announces, whether it adds or deletes, and the attributes naming the object.
const OBJECTS: ReadonlyMap<number, { object: Named; op: 'new' | 'del'; table: number; name: number }> = new Map([
  [NFT_MSG_NEWTABLE, { object: 'table', op: 'new', table: NFTA_TABLE_NAME, name: NFTA_TABLE_NAME }],
  [NFT_MSG_DELTABLE, { object: 'table', op: 'del', table: NFTA_TABLE_NAME, name: NFTA_TABLE_NAME }],
  [NFT_MSG_NEWCHAIN, { object: 'chain', op: 'new', table: NFTA_CHAIN_TABLE, name: NFTA_CHAIN_NAME }],
  [NFT_MSG_DELCHAIN, { object: 'chain', op: 'del', table: NFTA_CHAIN_TABLE, name: NFTA_CHAIN_NAME }],
  [NFT_MSG_NEWRULE, { object: 'rule', op: 'new', table: NFTA_RULE_TABLE, name: NFTA_RULE_CHAIN }],
  [NFT_MSG_DELRULE, { object: 'rule', op: 'del', table: NFTA_RULE_TABLE, name: NFTA_RULE_CHAIN }],
  [NFT_MSG_NEWSET, { object: 'set', op: 'new', table: NFTA_SET_TABLE, name: NFTA_SET_NAME }],
  [NFT_MSG_DELSET, { object: 'set', op: 'del', table: NFTA_SET_TABLE, name: NFTA_SET_NAME }],
]);

/**
 * Decode one nf_tables notification; undefined for other subsystems, other message types (the
 * generation, objects, flowtables, traces) and messages without the names they should carry.
 *
 * @throws {RangeError} for an element list that does not parse (see `decodeSetElemList`).
 * @example
 * ```ts
 * decodeNftEvent(msg); // { object: 'table', op: 'del', family: NFPROTO_INET, table: 'ctnet' }
 * ```
 */
export function decodeNftEvent(msg: NetlinkMessage): NftEvent | undefined {
  if (msg.type >> 8 !== NFNL_SUBSYS_NFTABLES || msg.payload.length < NFGENMSG_LEN) return undefined;
  const op = msg.type & 0xff;
  const { family } = decodeNfgenmsg(msg.payload);
  if (op === NFT_MSG_NEWSETELEM || op === NFT_MSG_DELSETELEM) {
    const list = decodeSetElemList(msg.payload);
    return { object: 'element', op: op === NFT_MSG_NEWSETELEM ? 'new' : 'del', family, table: list.table, set: list.set, comments: list.elements.map((e) => e.comment) };
  }
  const kind = OBJECTS.get(op);
  if (kind === undefined) return undefined;
  const attrs = attrMap(msg.payload, NFGENMSG_LEN);
  const table = readString(attrs.get(kind.table));
  const name = readString(attrs.get(kind.name));
  if (table === undefined || name === undefined) return undefined;
  const at: InTable = { op: kind.op, family, table };
  switch (kind.object) {
    case 'table':
      return { ...at, object: 'table' };
    case 'chain':
      return { ...at, object: 'chain', chain: name };
    case 'rule': {
      const udata = attrs.get(NFTA_RULE_USERDATA);
      return { ...at, object: 'rule', chain: name, comment: udata === undefined ? undefined : decodeRuleComment(udata) };
    }
    case 'set':
      return { ...at, object: 'set', set: name };
  }
}
