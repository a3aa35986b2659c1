/**
 * A recording {@link NftNetlink} for unit tests: it keeps every batch and request it is given and
 * fails when told to, so the driver's choice between netlink and nft can be tested without root.
 * @module
 */
import type { BatchMessage } from '../../netlink/batch.js';
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
  /** Every batch passed to `apply`, in order, including the ones that were made to fail. */
  readonly batches: WireMessage[][] = [];
  /** Every message passed to `request`, in order, including the ones that were made to fail. */
  readonly requests: WireMessage[] = [];
  /** How often `close` was called. */
  closed = 0;
  readonly #failures: Error[] = [];
  readonly #requestFailures: Error[] = [];

  /** Makes the next `apply` call (after any queued earlier) record its batch and then throw `err`. */
  failNextApply(err: Error): void {
    this.#failures.push(err);
  }

  /** Makes the next `request` call (after any queued earlier) record its message and then throw `err`. */
  failNextRequest(err: Error): void {
    this.#requestFailures.push(err);
  }

  apply(messages: readonly BatchMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    this.batches.push(wire(messages));
    const failure = this.#failures.shift();
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }

  request(message: BatchMessage): Promise<void> {
    this.requests.push(...wire([message]));
    const failure = this.#requestFailures.shift();
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }

  close(): void {
    this.closed++;
  }
}
