/**
 * A recording {@link NftRunner} for unit tests: it keeps every batch it is given and answers
 * `list` from a script, so driver logic can be tested without root or nft.
 * @module
 */
import type { NftRunner } from './runner.js';
import type { NftCommand } from './schema.js';

/**
 * Records batches instead of running them. `list` answers with the queued responses in order
 * (an `Error` is thrown), then with `listResult`.
 *
 * @example
 * ```ts
 * const runner = new FakeNftRunner();
 * await new NftFirewallDriver(runner).setupNetwork(net);
 * runner.batches.length; // 1
 * ```
 */
export class FakeNftRunner implements NftRunner {
  /** Every batch passed to `run`, in order, including the ones that were made to fail. */
  readonly batches: NftCommand[][] = [];
  /** The arguments of every `list` call. */
  readonly listCalls: string[][] = [];
  /** The answer of `list` once the queue is empty; an `Error` is thrown. */
  listResult: unknown = { nftables: [] };
  readonly #listQueue: unknown[] = [];
  readonly #runFailures: (Error | undefined)[] = [];

  /** Queues answers for the next `list` calls; an `Error` is thrown instead of returned. */
  queueList(...results: unknown[]): void {
    this.#listQueue.push(...results);
  }

  /** Makes the next `run` call (after any queued earlier) record its batch and then throw `err`. */
  failNextRun(err: Error): void {
    this.#runFailures.push(err);
  }

  /** Makes the next `run` call (after any queued earlier) succeed, so that a later one can fail. */
  passNextRun(): void {
    this.#runFailures.push(undefined);
  }

  run(commands: NftCommand[]): Promise<void> {
    this.batches.push(structuredClone(commands));
    const failure = this.#runFailures.shift();
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }

  list(args: string[]): Promise<unknown> {
    this.listCalls.push([...args]);
    const result = this.#listQueue.length > 0 ? this.#listQueue.shift() : this.listResult;
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(structuredClone(result));
  }
}
