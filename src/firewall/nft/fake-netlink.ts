/**
 * A recording {@link NftNetlink} for unit tests: it keeps every batch and request it is given and
 * fails when told to, so the driver's choice between netlink and nft can be tested without root.
 * @module
 */
import { type BatchMessage, batchSize, MAX_DATAGRAM_BYTES } from '../../netlink/batch.js';
import { listChainsMessage, type NftChainRef } from '../../netlink/nftnl/chain.js';
import { nftBatch } from '../../netlink/nftnl/nfnetlink.js';
import { listRulesMessage } from '../../netlink/nftnl/rule.js';
import type { NftNetlink } from './netlink.js';

/** What a message puts on the wire: type, flags and payload (without the error-message helpers). */
export interface WireMessage {
  type: number;
  flags: number;
  payload: Buffer;
}

/** The wire part of each message, for comparing batches with `deepEqual`. */
export function wire(messages: readonly BatchMessage[]): WireMessage[] {
  return messages.map(({ type, flags, payload }) => ({ type, flags, payload }));
}

/**
 * Records batches instead of sending them.
 *
 * @example
 * ```ts
 * const netlink = new FakeNftNetlink();
 * await new NftFirewallDriver(new FakeNftRunner(), { netlink }).setupPorts(ep);
 * netlink.batches.length; // 1
 * ```
 */
export class FakeNftNetlink implements NftNetlink {
  readonly maxBatchBytes: number;
  /** Every batch passed to `apply`, in order, including the ones that were made to fail. */
  readonly batches: WireMessage[][] = [];
  /** Every message passed to `request`, in order, including the ones that were made to fail. */
  readonly requests: WireMessage[] = [];
  /** Every message passed to `dump`, in order. */
  readonly dumps: WireMessage[] = [];
  /**
   * What `dump` answers, by the request's payload (hex): the payloads of the kernel's messages.
   * A request not found here is answered with none: nothing to list.
   */
  readonly dumpAnswers = new Map<string, Buffer[]>();
  /** How often `close` was called. */
  closed = 0;
  readonly #requestFailures: Error[] = [];
  // What the next `apply` calls do, in order: throw the error, or succeed (undefined).
  readonly #outcomes: (Error | undefined)[] = [];

  /** `maxBatchBytes`: what the driver must split at; default the real socket's. */
  constructor(options: { maxBatchBytes?: number } = {}) {
    this.maxBatchBytes = options.maxBatchBytes ?? MAX_DATAGRAM_BYTES;
  }

  /** Answers the chain dump with `chains` and the rule dump of each chain given with its rules (payloads). */
  answerDumps(chains: Buffer[], rules: readonly (readonly [NftChainRef, Buffer[]])[] = []): this {
    this.dumpAnswers.set(listChainsMessage().payload.toString('hex'), chains);
    for (const [chain, payloads] of rules) this.dumpAnswers.set(listRulesMessage(chain).payload.toString('hex'), payloads);
    return this;
  }

  /** Makes the next `apply` call (after any queued earlier) record its batch and then throw `err`. */
  failNextApply(err: Error): void {
    this.#outcomes.push(err);
  }

  /** Makes the next `apply` call (after any queued earlier) succeed, so that a later one can fail. */
  passNextApply(): void {
    this.#outcomes.push(undefined);
  }

  /** Makes the next `request` call (after any queued earlier) record its message and then throw `err`. */
  failNextRequest(err: Error): void {
    this.#requestFailures.push(err);
  }

  apply(messages: readonly BatchMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    // The kernel refuses a datagram over the socket's buffer (EMSGSIZE): a driver bug here.
    const size = batchSize(nftBatch(messages));
    if (size > this.maxBatchBytes) return Promise.reject(new RangeError(`a ${size}-byte batch is over maxBatchBytes ${this.maxBatchBytes}`));
    this.batches.push(wire(messages));
    const failure = this.#outcomes.shift();
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }

  request(message: BatchMessage): Promise<void> {
    this.requests.push(...wire([message]));
    const failure = this.#requestFailures.shift();
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }

  dump(message: BatchMessage): Promise<Buffer[]> {
    this.dumps.push(...wire([message]));
    return Promise.resolve(this.dumpAnswers.get(message.payload.toString('hex')) ?? []);
  }

  close(): void {
    this.closed++;
  }
}
