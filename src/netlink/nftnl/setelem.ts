/**
 * Set and map elements (NFT_MSG_NEWSETELEM / NFT_MSG_DELSETELEM): the messages that add elements
 * with their data and comments, or delete them by key, laid out as nft itself sends them.
 *
 * ```
 * nfgenmsg { family, NFNETLINK_V0, res_id 0 }
 * NFTA_SET_ELEM_LIST_TABLE    "ctnet\0"
 * NFTA_SET_ELEM_LIST_SET      "pub4_any_port\0"
 * NFTA_SET_ELEM_LIST_ELEMENTS (nested)
 *   NFTA_LIST_ELEM (nested), one per element
 *     NFTA_SET_ELEM_KEY      (nested) NFTA_DATA_VALUE  key bytes        (see data.ts)
 *     NFTA_SET_ELEM_DATA     (nested) NFTA_DATA_VALUE  map data bytes   (adds only)
 *     NFTA_SET_ELEM_USERDATA  comment TLV                               (adds only, see udata.ts)
 * ```
 * An attribute's length is 16 bits, so elements that do not fit one list go out in several
 * messages; in one batch they still take effect together.
 * @module
 */
import { type Attr, attrMap, attrSize, attrType, bytesAttr, decodeAttrs, encodeAttrs, NLA_HDRLEN, nestedAttr, readString, stringAttr } from '../attr.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NLMSG_HDRLEN } from '../constants.js';
import type { BatchMessage } from '../batch.js';
import { decodeNfgenmsg, encodeNfgenmsg } from './nfnetlink.js';
import {
  NFGENMSG_LEN,
  NFT_MSG_DELSETELEM,
  NFT_MSG_NEWSETELEM,
  NFTA_DATA_VALUE,
  NFTA_LIST_ELEM,
  NFTA_SET_ELEM_DATA,
  NFTA_SET_ELEM_KEY,
  NFTA_SET_ELEM_LIST_ELEMENTS,
  NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_TABLE,
  NFTA_SET_ELEM_USERDATA,
  nftMsgType,
} from './constants.js';
import { encodeNftValue, formatNftValue, type NftField } from './data.js';
import { decodeElemComment, encodeElemComment } from './udata.js';

/** The set or map the elements belong to. */
export interface NftSetRef {
  /** The table's family, an NFPROTO_* value (`NFPROTO_INET` for `inet`). */
  family: number;
  table: string;
  set: string;
}

/** One element: its key, for a map its data, and an optional comment. */
export interface NftSetElem {
  key: readonly NftField[];
  data?: readonly NftField[];
  comment?: string;
}

/** An element as a message carries it, undecoded (see data.ts to read the values). */
export interface RawSetElem {
  key: Buffer;
  data?: Buffer;
  comment?: string;
}

/** What a set-element message says. */
export interface SetElemList extends NftSetRef {
  elements: RawSetElem[];
}

// nla_len is 16 bits: the element list of one message must stay below it.
const MAX_ATTR_LEN = 0xffff;

/**
 * NFT_MSG_NEWSETELEM messages adding `elems` (with data and comments) to set `ref`, as many as
 * the 16-bit attribute length needs. Flags are those of `nft add element` plus NLM_F_ACK: with
 * NLM_F_CREATE and without NLM_F_EXCL, an element that exists with the same data is accepted
 * unchanged and one with other data fails with EEXIST.
 *
 * @throws {RangeError} if a key, data value or comment cannot be encoded.
 * @example
 * ```ts
 * const ref = { family: NFPROTO_INET, table: 'ctnet', set: 'pub4_any_port' };
 * socket.requestBatch(nftBatch(newSetElemMessages(ref, [{ key: [{ type: 'inet_proto', value: 6 },
 *   { type: 'inet_service', value: 8080 }], data: [{ type: 'inet_service', value: 80 }], comment: 'ctnet ep e1' }])));
 * ```
 */
export function newSetElemMessages(ref: NftSetRef, elems: readonly NftSetElem[]): BatchMessage[] {
  return setElemMessages(NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, ref, elems, true);
}

/**
 * NFT_MSG_DELSETELEM messages deleting the keys of `elems` from set `ref` (data and comments are
 * not sent). A key that is not there fails the batch with ENOENT.
 *
 * @throws {RangeError} if a key cannot be encoded.
 */
export function delSetElemMessages(ref: NftSetRef, elems: readonly NftSetElem[]): BatchMessage[] {
  return setElemMessages(NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK, ref, elems, false);
}

/**
 * Reads the payload (after the nlmsghdr) of a set-element message.
 *
 * @throws {RangeError} if it is shorter than an nfgenmsg or lacks the table or set name.
 */
export function decodeSetElemList(payload: Buffer): SetElemList {
  const { family } = decodeNfgenmsg(payload);
  const attrs = decodeAttrs(payload, NFGENMSG_LEN);
  const top = attrMap(payload, NFGENMSG_LEN);
  const table = readString(top.get(NFTA_SET_ELEM_LIST_TABLE));
  const set = readString(top.get(NFTA_SET_ELEM_LIST_SET));
  if (table === undefined || set === undefined) throw new RangeError('a set-element message without a table or set name');
  const elements: RawSetElem[] = [];
  for (const list of attrs) {
    if (attrType(list) !== NFTA_SET_ELEM_LIST_ELEMENTS || !Buffer.isBuffer(list.value)) continue;
    for (const elem of decodeAttrs(list.value)) {
      if (attrType(elem) !== NFTA_LIST_ELEM || !Buffer.isBuffer(elem.value)) continue;
      const fields = attrMap(elem.value);
      const key = dataValue(fields.get(NFTA_SET_ELEM_KEY));
      if (key === undefined) continue;
      const data = dataValue(fields.get(NFTA_SET_ELEM_DATA));
      const udata = fields.get(NFTA_SET_ELEM_USERDATA);
      const comment = udata === undefined ? undefined : decodeElemComment(udata);
      elements.push({ key, ...(data === undefined ? {} : { data }), ...(comment === undefined ? {} : { comment }) });
    }
  }
  return { family, table, set, elements };
}

function dataValue(nested: Buffer | undefined): Buffer | undefined {
  return nested === undefined ? undefined : attrMap(nested).get(NFTA_DATA_VALUE);
}

function setElemMessages(op: number, flags: number, ref: NftSetRef, elems: readonly NftSetElem[], full: boolean): BatchMessage[] {
  const head = [stringAttr(NFTA_SET_ELEM_LIST_TABLE, ref.table), stringAttr(NFTA_SET_ELEM_LIST_SET, ref.set)];
  // Where the first element starts, counted from the nlmsghdr as the kernel's extack offset is.
  const firstOffset = NLMSG_HDRLEN + NFGENMSG_LEN + head.reduce((n, a) => n + attrSize(a), 0) + NLA_HDRLEN;
  const opName = op === NFT_MSG_NEWSETELEM ? 'NFT_MSG_NEWSETELEM' : 'NFT_MSG_DELSETELEM';
  const messages: BatchMessage[] = [];
  let chunk: { attr: Attr; size: number; elem: NftSetElem }[] = [];
  let chunkSize = NLA_HDRLEN;
  const flush = (): void => {
    if (chunk.length === 0) return;
    const members = chunk;
    const payload = Buffer.concat([
      encodeNfgenmsg(ref.family),
      encodeAttrs([...head, nestedAttr(NFTA_SET_ELEM_LIST_ELEMENTS, members.map((c) => c.attr), true)]),
    ]);
    const only = members.length === 1 ? members[0] : undefined;
    messages.push({
      type: nftMsgType(op),
      flags,
      payload,
      op: opName,
      object: only === undefined ? ref.set : describe(ref, only.elem),
      objectAt: (offset) => {
        let start = firstOffset;
        for (const m of members) {
          if (offset >= start && offset < start + m.size) return describe(ref, m.elem);
          start += m.size;
        }
        return undefined;
      },
    });
    chunk = [];
    chunkSize = NLA_HDRLEN;
  };
  for (const elem of elems) {
    const attr = elemAttr(elem, full);
    const size = attrSize(attr);
    if (chunkSize + size > MAX_ATTR_LEN) flush();
    chunk.push({ attr, size, elem });
    chunkSize += size;
  }
  flush();
  return messages;
}

function elemAttr(elem: NftSetElem, full: boolean): Attr {
  const children: Attr[] = [nestedAttr(NFTA_SET_ELEM_KEY, [bytesAttr(NFTA_DATA_VALUE, encodeNftValue(elem.key))], true)];
  if (full && elem.data !== undefined) {
    children.push(nestedAttr(NFTA_SET_ELEM_DATA, [bytesAttr(NFTA_DATA_VALUE, encodeNftValue(elem.data))], true));
  }
  if (full && elem.comment !== undefined) children.push(bytesAttr(NFTA_SET_ELEM_USERDATA, encodeElemComment(elem.comment)));
  return nestedAttr(NFTA_LIST_ELEM, children, true);
}

// `pub4_any_addr tcp . 8080`: the map and the key, as nft would print them.
function describe(ref: NftSetRef, elem: NftSetElem): string {
  return `${ref.set} ${formatNftValue(elem.key)}`;
}
