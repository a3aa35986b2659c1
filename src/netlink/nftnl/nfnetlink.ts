/**
 * nfnetlink framing: the nfgenmsg header every nf_tables message starts with, and the batch that
 * makes a list of changes one transaction. The kernel applies a batch
 * `[NFNL_MSG_BATCH_BEGIN, changes..., NFNL_MSG_BATCH_END]` all or nothing; it only accepts changes
 * to nf_tables inside one.
 * @module
 */
import { AF_UNSPEC, NLM_F_REQUEST } from '../constants.js';
import { type BatchMessage, batchSize, encodeBatch } from '../batch.js';
import { NFGENMSG_LEN, NFNETLINK_V0, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES } from './constants.js';

/**
 * struct nfgenmsg: family (an NFPROTO_* value), version, and the resource id, big-endian.
 *
 * @example
 * ```ts
 * encodeNfgenmsg(NFPROTO_INET); // <Buffer 01 00 00 00>
 * ```
 */
export function encodeNfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(NFGENMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt8(NFNETLINK_V0, 1);
  b.writeUInt16BE(resId, 2);
  return b;
}

/** The fields of struct nfgenmsg. */
export function decodeNfgenmsg(payload: Buffer): { family: number; version: number; resId: number } {
  if (payload.length < NFGENMSG_LEN) throw new RangeError(`an nfgenmsg is ${NFGENMSG_LEN} bytes, got ${payload.length}`);
  return { family: payload.readUInt8(0), version: payload.readUInt8(1), resId: payload.readUInt16BE(2) };
}

// A batch marker names the subsystem in res_id. It asks for no ACK: the kernel answers a marker
// only when it refuses the batch as a whole (subsystem missing, commit failed).
function marker(type: number, op: string): BatchMessage {
  return { type, flags: NLM_F_REQUEST, payload: encodeNfgenmsg(AF_UNSPEC, NFNL_SUBSYS_NFTABLES), op, object: 'nf_tables batch' };
}

/**
 * `messages` wrapped into one nf_tables transaction, ready for `NetlinkSocket.requestBatch`.
 *
 * @example
 * ```ts
 * socket.requestBatch(nftBatch(newSetElemMessages(ref, elems)));
 * ```
 */
export function nftBatch(messages: readonly BatchMessage[]): BatchMessage[] {
  return [marker(NFNL_MSG_BATCH_BEGIN, 'NFNL_MSG_BATCH_BEGIN'), ...messages, marker(NFNL_MSG_BATCH_END, 'NFNL_MSG_BATCH_END')];
}

/**
 * `messages` in consecutive groups, each of which {@link nftBatch} frames into at most `maxBytes`:
 * a change too large for one datagram goes to the kernel as several transactions, in order.
 *
 * @throws {RangeError} if one message alone does not fit (set-element messages stay under 64 KiB).
 * @example
 * ```ts
 * for (const group of splitNftBatch(messages, MAX_DATAGRAM_BYTES)) socket.requestBatch(nftBatch(group));
 * ```
 */
export function splitNftBatch(messages: readonly BatchMessage[], maxBytes: number): BatchMessage[][] {
  const framing = batchSize(nftBatch([]));
  const groups: BatchMessage[][] = [];
  let group: BatchMessage[] = [];
  let size = framing;
  for (const m of messages) {
    const len = batchSize([m]);
    if (framing + len > maxBytes) throw new RangeError(`a ${len}-byte netlink message does not fit a ${maxBytes}-byte batch`);
    if (size + len > maxBytes) {
      groups.push(group);
      group = [];
      size = framing;
    }
    group.push(m);
    size += len;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * The datagram {@link nftBatch} sends, numbered from `firstSeq` (the socket picks its own
 * numbers; this is for tests and debugging).
 */
export function encodeNftBatch(messages: readonly BatchMessage[], firstSeq: number): Buffer {
  return encodeBatch(nftBatch(messages), firstSeq);
}
