/**
 * The recorded nf_tables datagrams of src/netlink/nftnl/fixtures/, and messages built like the
 * kernel's answers, for unit tests (not shipped).
 * @module
 */
import { readFileSync } from 'node:fs';
import { type Attr, bytesAttr, encodeAttrs, nestedAttr, stringAttr } from '../attr.js';
import { NLMSG_DONE } from '../constants.js';
import { decodeMessages } from '../message.js';
import {
  NFTA_CHAIN_HOOK,
  NFTA_CHAIN_NAME,
  NFTA_CHAIN_POLICY,
  NFTA_CHAIN_TABLE,
  NFTA_HOOK_HOOKNUM,
  NFTA_RULE_CHAIN,
  NFTA_RULE_HANDLE,
  NFTA_RULE_TABLE,
  NFTA_RULE_USERDATA,
} from './constants.js';
import { encodeNfgenmsg } from './nfnetlink.js';
import { encodeElemComment } from './udata.js';

/** The bytes of a fixture: its datagrams, one per line, joined; `#` lines are comments. */
export function fixtureBytes(name: string): Buffer {
  // Compiled tests live in dist/src/..., the fixtures beside the sources.
  const text = readFileSync(new URL(`../../../../src/netlink/nftnl/fixtures/${name}`, import.meta.url), 'utf8');
  return Buffer.from(text.replace(/^#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

/** The payload of every message of a recorded dump answer but the final NLMSG_DONE, as `NftNetlink.dump` returns them. */
export function dumpPayloads(name: string): Buffer[] {
  return decodeMessages(fixtureBytes(name)).filter((m) => m.type !== NLMSG_DONE).map((m) => m.payload);
}

function u32be(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return bytesAttr(type, b);
}

/** An NFT_MSG_NEWCHAIN payload laid out as the kernel sends it: a base chain when `base` is given. */
export function chainPayload(family: number, table: string, chain: string, base?: { hook: number; policy: number }): Buffer {
  const attrs = [stringAttr(NFTA_CHAIN_TABLE, table), stringAttr(NFTA_CHAIN_NAME, chain)];
  if (base !== undefined) attrs.push(nestedAttr(NFTA_CHAIN_HOOK, [u32be(NFTA_HOOK_HOOKNUM, base.hook)]), u32be(NFTA_CHAIN_POLICY, base.policy));
  return Buffer.concat([encodeNfgenmsg(family), encodeAttrs(attrs)]);
}

/** An NFT_MSG_NEWRULE payload: where it is, its handle and a comment in userdata. */
export function rulePayload(family: number, table: string, chain: string, handle: number, comment?: string): Buffer {
  const h = Buffer.alloc(8);
  h.writeBigUInt64BE(BigInt(handle));
  const attrs = [stringAttr(NFTA_RULE_TABLE, table), stringAttr(NFTA_RULE_CHAIN, chain), bytesAttr(NFTA_RULE_HANDLE, h)];
  if (comment !== undefined) attrs.push(bytesAttr(NFTA_RULE_USERDATA, encodeElemComment(comment)));
  return Buffer.concat([encodeNfgenmsg(family), encodeAttrs(attrs)]);
}
