/**
 * Element and rule comments as nft keeps them. The kernel stores `NFTA_SET_ELEM_USERDATA` and
 * `NFTA_RULE_USERDATA` as opaque bytes; nft (libnftnl) fills them with TLVs of one byte type, one
 * byte length and the value, and the comment is the TLV `NFTNL_UDATA_SET_ELEM_COMMENT` (or
 * `NFTNL_UDATA_RULE_COMMENT`) holding the string with its NUL. Writing the same bytes is what makes
 * `nft list` print `comment "ctnet ep <id>"` for elements ctnet adds over netlink, and what lets
 * the nft listing find them by comment again (iptables-nft shows a rule's as `-m comment --comment`).
 * @module
 */
import { NFT_USERDATA_MAXLEN, NFTNL_UDATA_RULE_COMMENT, NFTNL_UDATA_SET_ELEM_COMMENT } from './constants.js';

// Type and length bytes before each TLV's value.
const UDATA_HDRLEN = 2;

/**
 * The userdata of an element whose only annotation is `comment`.
 *
 * @throws {RangeError} if the comment holds a NUL or does not fit a TLV (253 bytes of UTF-8).
 * @example
 * ```ts
 * encodeElemComment('ctnet ep e1'); // <Buffer 00 0c 63 74 6e 65 74 20 65 70 20 65 31 00>
 * ```
 */
export function encodeElemComment(comment: string): Buffer {
  if (comment.includes('\0')) throw new RangeError('an element comment cannot contain a NUL character');
  const value = Buffer.from(`${comment}\0`, 'utf8');
  // The length byte caps the value at 255 bytes; the kernel caps the whole userdata at 256.
  if (value.length > 0xff || UDATA_HDRLEN + value.length > NFT_USERDATA_MAXLEN) {
    throw new RangeError(`an element comment is at most 253 bytes of UTF-8, got ${value.length - 1}`);
  }
  return Buffer.concat([Buffer.from([NFTNL_UDATA_SET_ELEM_COMMENT, value.length]), value]);
}

/**
 * The comment in an element's userdata, or `undefined` when it has none (other TLVs are skipped).
 *
 * @example
 * ```ts
 * decodeElemComment(encodeElemComment('ctnet ep e1')); // 'ctnet ep e1'
 * ```
 */
export function decodeElemComment(udata: Buffer): string | undefined {
  return decodeComment(udata, NFTNL_UDATA_SET_ELEM_COMMENT);
}

/**
 * The comment in a rule's userdata (`comment "..."` as nft lists it), or `undefined` when it has
 * none. iptables-nft writes its own `-m comment` as an xt match instead, which this does not read.
 */
export function decodeRuleComment(udata: Buffer): string | undefined {
  return decodeComment(udata, NFTNL_UDATA_RULE_COMMENT);
}

function decodeComment(udata: Buffer, commentType: number): string | undefined {
  let pos = 0;
  while (pos + UDATA_HDRLEN <= udata.length) {
    const type = udata.readUInt8(pos);
    const len = udata.readUInt8(pos + 1);
    const value = udata.subarray(pos + UDATA_HDRLEN, pos + UDATA_HDRLEN + len);
    if (value.length < len) return undefined; // truncated
    if (type === commentType) {
      const nul = value.indexOf(0);
      return value.toString('utf8', 0, nul === -1 ? value.length : nul);
    }
    pos += UDATA_HDRLEN + len;
  }
  return undefined;
}
