/**
 * A netlink socket bound to one network namespace for its whole life, with request/ack and dump
 * handling. Calls are synchronous: rtnetlink does its work inside the sender's sendmsg(), so the
 * reply is ready as soon as send returns and an event-loop round trip would only add latency. The
 * exception is {@link NetlinkSocket.requestAsync}, for the few requests the kernel takes long over.
 * @module
 */
import { debuglog } from 'node:util';
import { fromSystemError, NetlinkError, TimeoutError } from '../errors.js';
import { native } from '../native/binding.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  RTM_NAMES,
} from './constants.js';
import { BatchAnswers, type BatchMessage, batchSummary, encodeBatch } from './batch.js';
import { decodeError, decodeMessages, encodeMessage, type NetlinkMessage } from './message.js';

const debug = debuglog('ctnet');

/** How often a dump interrupted by a concurrent change is retried (as the CNI plugins do). */
const DUMP_ATTEMPTS = 5;

export interface NetlinkSocketOptions {
  /** Open the socket inside the namespace of this fd; omit for the caller's own namespace. */
  netnsFd?: number;
  protocol: number;
  /** How long to wait for the kernel's answer before failing with a TimeoutError. */
  timeoutMs?: number;
}

export interface RequestContext {
  /** The object the request is about, for error messages (`RTM_NEWLINK veth-ab12 failed: ...`). */
  object?: string;
  /** The operation's name in error messages; default: the rtnetlink name of the message type. */
  op?: string;
}

export class NetlinkSocket {
  readonly #fd: number;
  readonly #portId: number;
  readonly #protocol: number;
  readonly #timeoutMs: number;
  /** Sockets of the same namespace for {@link requestAsync}, idle between its requests. */
  readonly #spares: NetlinkSocket[] = [];
  #seq: number;
  #closed = false;

  private constructor(fd: number, protocol: number, timeoutMs: number) {
    this.#fd = fd;
    this.#portId = native.netlinkPortId(fd);
    this.#protocol = protocol;
    this.#timeoutMs = timeoutMs;
    // Random start so a reply meant for an earlier socket with the same fd can never match.
    this.#seq = Math.floor(Math.random() * 0x7fffffff);
  }

  static open(options: NetlinkSocketOptions): NetlinkSocket {
    try {
      const fd = native.netlinkOpen(options.netnsFd ?? -1, options.protocol);
      return new NetlinkSocket(fd, options.protocol, options.timeoutMs ?? 10_000);
    } catch (err) {
      throw fromSystemError('open netlink socket', err);
    }
  }

  /** Send one request and wait for its ACK; returns any messages the kernel sent before it. */
  request(type: number, flags: number, payload: Buffer, ctx: RequestContext = {}): NetlinkMessage[] {
    return this.#exchange(type, NLM_F_REQUEST | NLM_F_ACK | flags, payload, ctx, false);
  }

  /**
   * {@link request} with the send and the receive on libuv's pool, so the event loop runs on while
   * the kernel works: for requests that take it milliseconds (deleting a veth, ~15-25 ms inside
   * sendmsg()). Each request in flight has a socket of its own in this socket's namespace, opened
   * on first need and kept for the next one, so it never shares one with another request, sync or
   * async.
   */
  async requestAsync(type: number, flags: number, payload: Buffer, ctx: RequestContext = {}): Promise<NetlinkMessage[]> {
    if (this.#closed) throw new TypeError('netlink socket is closed');
    const sock = this.#spares.pop() ?? this.#openSpare();
    try {
      return await sock.#exchangeAsync(type, NLM_F_REQUEST | NLM_F_ACK | flags, payload, ctx);
    } finally {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run during the await
      if (this.#closed) sock.close();
      else this.#spares.push(sock);
    }
  }

  /** Send a dump request and collect every reply message. Retries when the dump was interrupted. */
  dump(type: number, payload: Buffer, ctx: RequestContext = {}): NetlinkMessage[] {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.#exchange(type, NLM_F_REQUEST | NLM_F_DUMP, payload, ctx, true);
      } catch (err) {
        if (!(err instanceof DumpInterrupted) || attempt >= DUMP_ATTEMPTS) {
          if (err instanceof DumpInterrupted) {
            throw new NetlinkError({ op: ctx.op ?? opName(type), errno: 4, extack: 'dump interrupted too often' });
          }
          throw err;
        }
      }
    }
  }

  /**
   * Send `messages` as ONE datagram and wait for the answer to each message flagged NLM_F_ACK.
   * Made for nfnetlink batches (`[NFNL_MSG_BATCH_BEGIN, ..., NFNL_MSG_BATCH_END]`): the kernel
   * applies them as one transaction and answers only once the whole batch has been processed;
   * messages without NLM_F_ACK (the markers) are answered only if they fail. The first error the
   * kernel reports fails the call with a NetlinkError naming that message's op and object.
   */
  requestBatch(messages: readonly BatchMessage[]): void {
    if (this.#closed) throw new TypeError('netlink socket is closed');
    if (messages.length === 0) return;
    const firstSeq = (this.#seq + 1) >>> 0;
    this.#seq = (this.#seq + messages.length) >>> 0;
    const what = batchSummary(messages);
    const datagram = encodeBatch(messages, firstSeq);
    debug('netlink batch %s seq=%d len=%d', what, firstSeq, datagram.length);
    try {
      native.netlinkSend(this.#fd, datagram);
    } catch (err) {
      throw fromSystemError(`send ${what}`, err);
    }
    const answers = new BatchAnswers(messages, firstSeq, this.#portId);
    const deadline = Date.now() + this.#timeoutMs;
    while (!answers.done) {
      // After a failure, take only what is queued already: the kernel answers a batch inside our
      // sendmsg(), so everything it will say is there, and a marker's failure may be all it says.
      const failed = answers.failure !== undefined;
      const remaining = failed ? 0 : deadline - Date.now();
      const reply = failed || remaining > 0 ? native.netlinkRecv(this.#fd, remaining) : null;
      if (reply === null) {
        if (failed) break;
        throw new TimeoutError(`${what}: no answer from the kernel within ${this.#timeoutMs} ms`);
      }
      answers.take(reply);
    }
    if (answers.failure !== undefined) throw answers.failure;
  }

  /** Closes the socket and its idle spares; a spare still in a request closes when that ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.close(this.#fd);
    for (const sock of this.#spares.splice(0)) sock.close();
  }

  // A socket in this one's namespace, found from this socket: no namespace fd has to stay open.
  #openSpare(): NetlinkSocket {
    try {
      const nsFd = native.netlinkNetns(this.#fd);
      try {
        return new NetlinkSocket(native.netlinkOpen(nsFd, this.#protocol), this.#protocol, this.#timeoutMs);
      } finally {
        native.close(nsFd);
      }
    } catch (err) {
      throw fromSystemError('open netlink socket', err);
    }
  }

  #exchange(type: number, flags: number, payload: Buffer, ctx: RequestContext, isDump: boolean): NetlinkMessage[] {
    const answer = this.#start(type, flags, payload, ctx, isDump);
    try {
      native.netlinkSend(this.#fd, answer.request);
    } catch (err) {
      throw fromSystemError(`send ${answer.what}`, err);
    }
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      const replies = answer.take(remaining > 0 ? native.netlinkRecv(this.#fd, remaining) : null);
      if (replies !== undefined) return replies;
    }
  }

  // #exchange for one request, with the system calls on libuv's pool.
  async #exchangeAsync(type: number, flags: number, payload: Buffer, ctx: RequestContext): Promise<NetlinkMessage[]> {
    const answer = this.#start(type, flags, payload, ctx, false);
    try {
      await native.netlinkSendAsync(this.#fd, answer.request);
    } catch (err) {
      throw fromSystemError(`send ${answer.what}`, err);
    }
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      const replies = answer.take(remaining > 0 ? await native.netlinkRecvAsync(this.#fd, remaining) : null);
      if (replies !== undefined) return replies;
    }
  }

  #start(type: number, flags: number, payload: Buffer, ctx: RequestContext, isDump: boolean): Answer {
    if (this.#closed) throw new TypeError('netlink socket is closed');
    const seq = (this.#seq = (this.#seq + 1) >>> 0);
    const answer = new Answer(encodeMessage({ type, flags, seq, pid: 0 }, payload), { seq, portId: this.#portId, timeoutMs: this.#timeoutMs, ctx, isDump });
    debug('netlink %s seq=%d len=%d', answer.what, seq, payload.length);
    return answer;
  }
}

/** What the answer to a request looks like. */
interface Expected {
  seq: number;
  portId: number;
  /** For the message of a TimeoutError. */
  timeoutMs: number;
  ctx: RequestContext;
  isDump: boolean;
}

/** The kernel's answer to one request, read datagram by datagram. */
class Answer {
  /** The request, framed (nlmsghdr + payload). */
  readonly request: Buffer;
  /** `RTM_NEWLINK veth-ab12`: the op and its object, for messages. */
  readonly what: string;
  readonly #op: string;
  readonly #expect: Expected;
  readonly #replies: NetlinkMessage[] = [];
  #interrupted = false;

  constructor(request: Buffer, expect: Expected) {
    this.request = request;
    this.#expect = expect;
    this.#op = expect.ctx.op ?? opName(request.readUInt16LE(4));
    this.what = expect.ctx.object === undefined ? this.#op : `${this.#op} ${expect.ctx.object}`;
  }

  /**
   * Takes the next datagram (null: none came in time). Returns the replies once the answer is
   * complete, undefined while more is to come; throws the kernel's refusal or a TimeoutError.
   */
  take(datagram: Buffer | null): NetlinkMessage[] | undefined {
    const { seq, portId, timeoutMs, ctx, isDump } = this.#expect;
    if (datagram === null) throw new TimeoutError(`${this.what}: no answer from the kernel within ${timeoutMs} ms`);
    for (const msg of decodeMessages(datagram)) {
      // Replies to an earlier request that timed out, or from another sender, are not ours.
      if (msg.seq !== seq || (msg.pid !== portId && msg.pid !== 0)) continue;
      if ((msg.flags & NLM_F_DUMP_INTR) !== 0) this.#interrupted = true;
      if (msg.type === NLMSG_ERROR) {
        const e = decodeError(msg);
        if (e.error !== 0) throw netlinkError(this.#op, ctx, e.error, e.extack);
        if (!isDump) return this.#replies;
        continue;
      }
      if (msg.type === NLMSG_DONE) {
        const status = msg.payload.length >= 4 ? msg.payload.readInt32LE(0) : 0;
        if (status < 0) throw netlinkError(this.#op, ctx, status, undefined);
        if (this.#interrupted) throw new DumpInterrupted();
        return this.#replies;
      }
      if (msg.type === NLMSG_NOOP) continue;
      this.#replies.push(msg);
    }
    return undefined;
  }
}

class DumpInterrupted extends Error {}

function opName(type: number): string {
  return RTM_NAMES[type] ?? `netlink message ${type}`;
}

function netlinkError(op: string, ctx: RequestContext, errno: number, extack: string | undefined): NetlinkError {
  return new NetlinkError({
    op,
    errno: -errno,
    ...(ctx.object === undefined ? {} : { object: ctx.object }),
    ...(extack === undefined ? {} : { extack }),
  });
}
