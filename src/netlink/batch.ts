/**
 * Several netlink messages sent as ONE datagram, and the bookkeeping of their answers. nfnetlink
 * needs this: the kernel applies `[NFNL_MSG_BATCH_BEGIN, changes..., NFNL_MSG_BATCH_END]` as one
 * transaction only when the whole batch arrives in one sendmsg(). Pure: the socket does the I/O.
 * @module
 */
import { NetlinkError } from '../errors.js';
import { NLM_F_ACK, NLMSG_ERROR, NLMSG_HDRLEN, RTM_NAMES } from './constants.js';
import { decodeError, decodeMessages, encodeMessage, type NetlinkErrorPayload } from './message.js';

/**
 * The largest datagram to send on a ctnet netlink socket. The addon asks for 1 MiB send buffers
 * (the kernel doubles that), and netlink refuses a datagram larger than the buffer (EMSGSIZE).
 */
export const MAX_DATAGRAM_BYTES = 1 << 20;

/** One message of a batch (`NetlinkSocket.requestBatch`). */
export interface BatchMessage {
  type: number;
  /** NLM_F_* flags as sent; only messages with NLM_F_ACK are waited for. */
  flags: number;
  payload: Buffer;
  /** The operation's name in error messages; default: the rtnetlink name of `type`. */
  op?: string;
  /** What the message is about, in error messages. */
  object?: string;
  /**
   * What the part of this message at byte `offset` is about, when that says more than `object`.
   * The offset is the kernel's extended-ack pointer at the attribute it refused, counted from the
   * message's nlmsghdr.
   */
  objectAt?: (offset: number) => string | undefined;
}

/**
 * Frames `messages` back to back into one datagram, numbered `firstSeq`, `firstSeq + 1`, ...
 * Each message starts 4-byte aligned (NLMSG_ALIGN), as the kernel walks them.
 *
 * @example
 * ```ts
 * native.netlinkSend(fd, encodeBatch(nftBatch(messages), seq));
 * ```
 */
export function encodeBatch(messages: readonly BatchMessage[], firstSeq: number): Buffer {
  const framed = messages.map((m, i) => encodeMessage({ type: m.type, flags: m.flags, seq: (firstSeq + i) >>> 0, pid: 0 }, m.payload));
  const out = Buffer.alloc(framed.reduce((n, f) => n + align4(f.length), 0));
  let pos = 0;
  for (const f of framed) {
    f.copy(out, pos);
    pos += align4(f.length);
  }
  return out;
}

/** The size of {@link encodeBatch}'s datagram for `messages`, without encoding it. */
export function batchSize(messages: readonly BatchMessage[]): number {
  let size = 0;
  for (const m of messages) size += align4(NLMSG_HDRLEN + m.payload.length);
  return size;
}

/**
 * Collects the kernel's answers to one batch sent with {@link encodeBatch}: one NLMSG_ERROR per
 * message flagged NLM_F_ACK (error 0 is the ACK). Messages without NLM_F_ACK get an answer only
 * when they fail; nfnetlink answers its batch markers that way when it refuses the batch as a whole.
 * The first error that arrives is the batch's failure, as a NetlinkError naming that message.
 *
 * @example
 * ```ts
 * const answers = new BatchAnswers(messages, firstSeq, portId);
 * while (!answers.done && answers.failure === undefined) answers.take(recv());
 * if (answers.failure !== undefined) throw answers.failure;
 * ```
 */
export class BatchAnswers {
  readonly #bySeq = new Map<number, BatchMessage>();
  readonly #pending = new Set<number>();
  readonly #portId: number;
  #failure: NetlinkError | undefined;

  constructor(messages: readonly BatchMessage[], firstSeq: number, portId: number) {
    this.#portId = portId;
    messages.forEach((m, i) => {
      const seq = (firstSeq + i) >>> 0;
      this.#bySeq.set(seq, m);
      if ((m.flags & NLM_F_ACK) !== 0) this.#pending.add(seq);
    });
  }

  /** True once every message that asked for an ACK has been answered. */
  get done(): boolean {
    return this.#pending.size === 0;
  }

  /** The first error the kernel reported, if any. */
  get failure(): NetlinkError | undefined {
    return this.#failure;
  }

  /** Reads one datagram from the kernel; what does not answer this batch is skipped. */
  take(datagram: Buffer): void {
    for (const msg of decodeMessages(datagram)) {
      const sent = this.#bySeq.get(msg.seq);
      // Answers to an earlier request that timed out, or from another sender, are not ours.
      if (sent === undefined || msg.type !== NLMSG_ERROR || (msg.pid !== this.#portId && msg.pid !== 0)) continue;
      this.#pending.delete(msg.seq);
      const e = decodeError(msg);
      if (e.error !== 0 && this.#failure === undefined) this.#failure = batchError(sent, e);
    }
  }
}

/**
 * `NFT_MSG_NEWSETELEM x3, NFT_MSG_DELSETELEM`: the operations of a batch, for debug output and
 * for errors about the batch as a whole.
 */
export function batchSummary(messages: readonly BatchMessage[]): string {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const op = opOf(m);
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return [...counts].map(([op, n]) => (n === 1 ? op : `${op} x${n}`)).join(', ');
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function opOf(m: BatchMessage): string {
  return m.op ?? RTM_NAMES[m.type] ?? `netlink message ${m.type}`;
}

// The error of one message; the extended ack's offset can name the exact element.
function batchError(sent: BatchMessage, e: NetlinkErrorPayload): NetlinkError {
  const object = (e.extackOffset === undefined ? undefined : sent.objectAt?.(e.extackOffset)) ?? sent.object;
  return new NetlinkError({
    op: opOf(sent),
    errno: -e.error,
    ...(object === undefined ? {} : { object }),
    ...(e.extack === undefined ? {} : { extack: e.extack }),
  });
}
