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
import { align4, attrMap, attrType, decodeAttrs, encodeAttrs, NLA_HDRLEN, readString, stringAttr } from '../attr.js';
import { NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NLMSG_HDRLEN } from '../constants.js';
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
import { decodeNftValue, encodedValueSize, formatNftValue, type NftField, type NftFieldType, writeNftValue } from './data.js';
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
 * the 16-bit attribute length needs; `elems` is read once, so it may be a generator. Flags are
 * those of `nft add element` plus NLM_F_ACK: with NLM_F_CREATE and without NLM_F_EXCL, an element
 * that exists with the same data is accepted unchanged and one with other data fails with EEXIST.
 *
 * @throws {RangeError} if a key, data value or comment cannot be encoded.
 * @example
 * ```ts
 * const ref = { family: NFPROTO_INET, table: 'ctnet', set: 'pub4_any_port' };
 * socket.requestBatch(nftBatch(newSetElemMessages(ref, [{ key: [{ type: 'inet_proto', value: 6 },
 *   { type: 'inet_service', value: 8080 }], data: [{ type: 'inet_service', value: 80 }], comment: 'ctnet ep e1' }])));
 * ```
 */
export function newSetElemMessages(ref: NftSetRef, elems: Iterable<NftSetElem>): BatchMessage[] {
  return setElemMessages(NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, ref, elems, true);
}

/**
 * NFT_MSG_DELSETELEM messages deleting the keys of `elems` from set `ref` (data and comments are
 * not sent). A key that is not there fails the batch with ENOENT.
 *
 * @throws {RangeError} if a key cannot be encoded.
 */
export function delSetElemMessages(ref: NftSetRef, elems: Iterable<NftSetElem>): BatchMessage[] {
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

/**
 * One pass over `elems`: each element is written into the message being filled as it comes, so
 * callers can hand over a generator and no element outlives its turn (a range of 65535 ports is
 * 131070 elements, and keeping them alive costs garbage collection time). Error messages name an
 * element by decoding its key from the bytes sent.
 */
function setElemMessages(op: number, flags: number, ref: NftSetRef, elems: Iterable<NftSetElem>, full: boolean): BatchMessage[] {
  const nfgen = encodeNfgenmsg(ref.family);
  const head = encodeAttrs([stringAttr(NFTA_SET_ELEM_LIST_TABLE, ref.table), stringAttr(NFTA_SET_ELEM_LIST_SET, ref.set)]);
  const listStart = NFGENMSG_LEN + head.length;
  const opName = op === NFT_MSG_NEWSETELEM ? 'NFT_MSG_NEWSETELEM' : 'NFT_MSG_DELSETELEM';
  // The elements of one change usually share their comment: encode each comment once.
  const comments = new Map<string, Buffer>();
  const messages: BatchMessage[] = [];
  // The element list being filled, written in place and copied out whole when the next element
  // would not fit; zero-filled, because padding is not written.
  const list = Buffer.alloc(MAX_ATTR_LEN);
  let used = NLA_HDRLEN;
  let sizes: number[] = [];
  let keyTypes: readonly NftFieldType[] = [];
  const flush = (): void => {
    if (sizes.length === 0) return;
    const payload = Buffer.alloc(listStart + used);
    nfgen.copy(payload, 0);
    head.copy(payload, NFGENMSG_LEN);
    writeAttrHeader(list, 0, used, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED);
    list.copy(payload, listStart, 0, used);
    list.fill(0, 0, used);
    const members = sizes;
    const types = keyTypes;
    // The element at `at` in the payload, as nft prints it.
    const describeAt = (at: number): string => describe(ref, payload, at, types);
    messages.push({
      type: nftMsgType(op),
      flags,
      payload,
      op: opName,
      object: members.length === 1 ? describeAt(listStart + NLA_HDRLEN) : ref.set,
      objectAt: (offset) => {
        // The extack offset counts from the nlmsghdr.
        let at = listStart + NLA_HDRLEN;
        for (const size of members) {
          if (offset - NLMSG_HDRLEN >= at && offset - NLMSG_HDRLEN < at + size) return describeAt(at);
          at += size;
        }
        return undefined;
      },
    });
    used = NLA_HDRLEN;
    sizes = [];
  };
  for (const elem of elems) {
    const keyLen = encodedValueSize(elem.key);
    const data = full ? elem.data : undefined;
    const dataLen = data === undefined ? 0 : encodedValueSize(data);
    let udata: Buffer | undefined;
    if (full && elem.comment !== undefined) {
      udata = comments.get(elem.comment);
      if (udata === undefined) comments.set(elem.comment, (udata = encodeElemComment(elem.comment)));
    }
    // NFTA_LIST_ELEM { NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE }, NFTA_SET_ELEM_DATA { NFTA_DATA_VALUE },
    // NFTA_SET_ELEM_USERDATA }: the bytes encodeAttrs() makes of that tree, written in place,
    // because building the tree per element cost more than the kernel's work to add the element.
    const size =
      NLA_HDRLEN + valueAttrSize(keyLen) + (data === undefined ? 0 : valueAttrSize(dataLen)) + (udata === undefined ? 0 : align4(NLA_HDRLEN + udata.length));
    if (used + size > MAX_ATTR_LEN) flush();
    if (sizes.length === 0) keyTypes = elem.key.map((f) => f.type);
    let at = writeAttrHeader(list, used, size, NFTA_LIST_ELEM | NLA_F_NESTED);
    at = writeValueAttr(list, at, NFTA_SET_ELEM_KEY, elem.key, keyLen);
    if (data !== undefined) at = writeValueAttr(list, at, NFTA_SET_ELEM_DATA, data, dataLen);
    if (udata !== undefined) list.set(udata, writeAttrHeader(list, at, NLA_HDRLEN + udata.length, NFTA_SET_ELEM_USERDATA));
    used += size;
    sizes.push(size);
  }
  flush();
  return messages;
}

// A nested `{ NFTA_DATA_VALUE value }` of a value of `len` bytes.
function valueAttrSize(len: number): number {
  return NLA_HDRLEN + align4(NLA_HDRLEN + len);
}

// `type { NFTA_DATA_VALUE value }`, nested as the kernel's nft_data_init() reads it.
function writeValueAttr(out: Buffer, pos: number, type: number, fields: readonly NftField[], len: number): number {
  const inner = writeAttrHeader(out, pos, valueAttrSize(len), type | NLA_F_NESTED);
  writeNftValue(fields, out, writeAttrHeader(out, inner, NLA_HDRLEN + len, NFTA_DATA_VALUE));
  return inner + align4(NLA_HDRLEN + len);
}

// struct nlattr, little-endian as attr.ts writes it; returns where its payload starts. Plain
// stores: Buffer's checked writers cost more than the rest of an element.
function writeAttrHeader(out: Buffer, pos: number, len: number, type: number): number {
  out[pos] = len & 0xff;
  out[pos + 1] = len >>> 8;
  out[pos + 2] = type & 0xff;
  out[pos + 3] = type >>> 8;
  return pos + NLA_HDRLEN;
}

// `pub4_any_addr tcp . 8080`: the map and the key of the element at `at` in `payload`, as nft
// would print them, the key decoded with the types of the message's first key.
function describe(ref: NftSetRef, payload: Buffer, at: number, keyTypes: readonly NftFieldType[]): string {
  const size = payload.readUInt16LE(at);
  const key = dataValue(attrMap(payload, at + NLA_HDRLEN, at + size).get(NFTA_SET_ELEM_KEY));
  if (key === undefined) return ref.set;
  try {
    return `${ref.set} ${formatNftValue(decodeNftValue(key, keyTypes))}`;
  } catch {
    return ref.set; // a key of other types than the message's first: the set is all there is to say
  }
}
