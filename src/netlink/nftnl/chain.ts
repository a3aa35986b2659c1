/**
 * Chains (NFT_MSG_GETCHAIN): the request for one chain by table and name, laid out as
 * `nft list chain` sends it, the dump of every chain of every table (`nft list chains`), and the
 * reading of a chain back from the kernel's answer: its name and, for a base chain, its hook and
 * policy.
 *
 * ```
 * nfgenmsg { family, NFNETLINK_V0, res_id 0 }
 * NFTA_CHAIN_TABLE "ctnet\0"
 * NFTA_CHAIN_NAME  "n-a1b2c3-in\0"
 * ```
 * The kernel answers with the chain (NFT_MSG_NEWCHAIN: its table, name, handle, hook, use count;
 * never its rules) and the ACK, or with ENOENT when the table or the chain is missing. That makes
 * it a presence probe of a few microseconds, where listing the table costs an `nft` process.
 * @module
 */
import { attrMap, encodeAttrs, readString, stringAttr } from '../attr.js';
import type { BatchMessage } from '../batch.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from '../constants.js';
import {
  NFGENMSG_LEN,
  NFPROTO_UNSPEC,
  NFT_MSG_GETCHAIN,
  NFTA_CHAIN_HOOK,
  NFTA_CHAIN_NAME,
  NFTA_CHAIN_POLICY,
  NFTA_CHAIN_TABLE,
  NFTA_HOOK_HOOKNUM,
  NFTA_HOOK_PRIORITY,
  nftMsgType,
} from './constants.js';
import { decodeNfgenmsg, encodeNfgenmsg } from './nfnetlink.js';

/** A chain, by the family of its table (an NFPROTO_* value), the table's name and its own. */
export interface NftChainRef {
  family: number;
  table: string;
  chain: string;
}

/**
 * The NFT_MSG_GETCHAIN request for chain `ref`, with nft's flags (REQUEST|ACK, no DUMP: one
 * chain, not all of them). It changes nothing, so it goes alone, not inside a batch.
 *
 * @example
 * ```ts
 * // Resolves when the chain exists; a NetlinkError with errnoName 'ENOENT' when it or its table does not.
 * socket.requestBatch([getChainMessage({ family: NFPROTO_INET, table: 'ctnet', chain: 'n-a1b2c3-in' })]);
 * ```
 */
export function getChainMessage(ref: NftChainRef): BatchMessage {
  const payload = Buffer.concat([
    encodeNfgenmsg(ref.family),
    encodeAttrs([stringAttr(NFTA_CHAIN_TABLE, ref.table), stringAttr(NFTA_CHAIN_NAME, ref.chain)]),
  ]);
  return { type: nftMsgType(NFT_MSG_GETCHAIN), flags: NLM_F_REQUEST | NLM_F_ACK, payload, op: 'NFT_MSG_GETCHAIN', object: `${ref.table} ${ref.chain}` };
}

/**
 * Reads the chain a chain message names (the payload after the nlmsghdr): the request, or the
 * kernel's NFT_MSG_NEWCHAIN answer.
 *
 * @throws {RangeError} if it is shorter than an nfgenmsg or lacks the table or chain name.
 */
export function decodeChainRef(payload: Buffer): NftChainRef {
  return chainRefOf(decodeNfgenmsg(payload).family, attrMap(payload, NFGENMSG_LEN));
}

function chainRefOf(family: number, attrs: ReadonlyMap<number, Buffer>): NftChainRef {
  const table = readString(attrs.get(NFTA_CHAIN_TABLE));
  const chain = readString(attrs.get(NFTA_CHAIN_NAME));
  if (table === undefined || chain === undefined) throw new RangeError('a chain message without a table or chain name');
  return { family, table, chain };
}

/** A chain as the kernel describes it; a base chain also has its hook, priority and policy. */
export interface NftChainInfo extends NftChainRef {
  /** The hook number (`NF_INET_FORWARD`, ...) of a base chain; undefined for a regular chain. */
  hook?: number;
  /** The base chain's priority (`filter` is 0). */
  priority?: number;
  /** The base chain's policy: `NF_ACCEPT` or `NF_DROP`. */
  policy?: number;
}

/**
 * The dump request for every chain of every table, of all families (NFPROTO_UNSPEC), as `nft
 * list chains` sends it. Each chain comes back as one NFT_MSG_NEWCHAIN ({@link decodeChain}).
 *
 * @example
 * ```ts
 * const chains = (await netlink.dump(listChainsMessage())).map(decodeChain);
 * ```
 */
export function listChainsMessage(): BatchMessage {
  return { type: nftMsgType(NFT_MSG_GETCHAIN), flags: NLM_F_REQUEST | NLM_F_DUMP, payload: encodeNfgenmsg(NFPROTO_UNSPEC), op: 'NFT_MSG_GETCHAIN', object: 'every chain' };
}

/**
 * Reads one chain of the kernel's answer (NFT_MSG_NEWCHAIN, the payload after the nlmsghdr).
 * Hook, priority and policy are big-endian, as nf_tables sends every number.
 *
 * @throws {RangeError} if it is shorter than an nfgenmsg or lacks the table or chain name.
 * @example
 * ```ts
 * decodeChain(payload); // { family: 2, table: 'filter', chain: 'FORWARD', hook: 2, priority: 0, policy: 0 }
 * ```
 */
export function decodeChain(payload: Buffer): NftChainInfo {
  const attrs = attrMap(payload, NFGENMSG_LEN);
  const info: NftChainInfo = chainRefOf(decodeNfgenmsg(payload).family, attrs);
  const hook = attrs.get(NFTA_CHAIN_HOOK);
  if (hook !== undefined) {
    const h = attrMap(hook);
    const num = readU32BE(h.get(NFTA_HOOK_HOOKNUM));
    const prio = h.get(NFTA_HOOK_PRIORITY);
    if (num !== undefined) info.hook = num;
    if (prio !== undefined && prio.length >= 4) info.priority = prio.readInt32BE(0);
  }
  const policy = readU32BE(attrs.get(NFTA_CHAIN_POLICY));
  if (policy !== undefined) info.policy = policy;
  return info;
}

function readU32BE(value: Buffer | undefined): number | undefined {
  return value === undefined || value.length < 4 ? undefined : value.readUInt32BE(0);
}
