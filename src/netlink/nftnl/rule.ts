/**
 * Rules (NFT_MSG_GETRULE): the dump of one chain's rules, as `nft list chain` asks for them, and
 * the reading of each rule's handle and comment from the kernel's answer. ctnet never reads a
 * rule's expressions: it finds the rules it made by their comment, and deletes them by handle.
 *
 * ```
 * nfgenmsg { family, NFNETLINK_V0, res_id 0 }
 * NFTA_RULE_TABLE "filter\0"
 * NFTA_RULE_CHAIN "FORWARD\0"
 * ```
 * The kernel answers with one NFT_MSG_NEWRULE per rule: table, chain, handle (u64, big-endian),
 * expressions and, for a rule with a comment, NFTA_RULE_USERDATA (see udata.ts).
 * @module
 */
import { attrMap, encodeAttrs, readString, stringAttr } from '../attr.js';
import type { BatchMessage } from '../batch.js';
import { NLM_F_DUMP, NLM_F_REQUEST } from '../constants.js';
import type { NftChainRef } from './chain.js';
import { NFGENMSG_LEN, NFT_MSG_GETRULE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE, NFTA_RULE_TABLE, NFTA_RULE_USERDATA, nftMsgType } from './constants.js';
import { decodeNfgenmsg, encodeNfgenmsg } from './nfnetlink.js';
import { decodeRuleComment } from './udata.js';

/** A rule as ctnet reads it: where it is, its handle and its comment. */
export interface NftRuleInfo extends NftChainRef {
  /** The rule's handle, unique in its table; what `delete rule ... handle N` takes. */
  handle: number;
  comment?: string;
}

/**
 * The dump request for the rules of chain `ref`. The kernel filters the dump by table and chain.
 *
 * @example
 * ```ts
 * const rules = (await netlink.dump(listRulesMessage({ family: NFPROTO_IPV4, table: 'filter', chain: 'FORWARD' }))).map(decodeRule);
 * ```
 */
export function listRulesMessage(ref: NftChainRef): BatchMessage {
  const payload = Buffer.concat([
    encodeNfgenmsg(ref.family),
    encodeAttrs([stringAttr(NFTA_RULE_TABLE, ref.table), stringAttr(NFTA_RULE_CHAIN, ref.chain)]),
  ]);
  return { type: nftMsgType(NFT_MSG_GETRULE), flags: NLM_F_REQUEST | NLM_F_DUMP, payload, op: 'NFT_MSG_GETRULE', object: `${ref.table} ${ref.chain}` };
}

/**
 * Reads one rule of the kernel's answer (NFT_MSG_NEWRULE, the payload after the nlmsghdr).
 *
 * @throws {RangeError} if it is shorter than an nfgenmsg or lacks its table, chain or handle.
 * @example
 * ```ts
 * decodeRule(payload); // { family: 2, table: 'filter', chain: 'FORWARD', handle: 3, comment: 'ctnet net ab12' }
 * ```
 */
export function decodeRule(payload: Buffer): NftRuleInfo {
  const { family } = decodeNfgenmsg(payload);
  const attrs = attrMap(payload, NFGENMSG_LEN);
  const table = readString(attrs.get(NFTA_RULE_TABLE));
  const chain = readString(attrs.get(NFTA_RULE_CHAIN));
  const handle = attrs.get(NFTA_RULE_HANDLE);
  if (table === undefined || chain === undefined || handle === undefined || handle.length < 8) {
    throw new RangeError('a rule message without a table, chain or handle');
  }
  const udata = attrs.get(NFTA_RULE_USERDATA);
  const comment = udata === undefined ? undefined : decodeRuleComment(udata);
  // Handles count up from 1 per table; a number holds them exactly up to 2^53.
  return { family, table, chain, handle: Number(handle.readBigUInt64BE(0)), ...(comment === undefined ? {} : { comment }) };
}
