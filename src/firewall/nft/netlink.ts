/**
 * The nf_tables netlink path of the nftables driver: element changes sent as one nfnetlink batch,
 * presence probes (one NFT_MSG_GETCHAIN) and dumps (every chain, one chain's rules), on a socket
 * this process keeps open, where `nft` would cost a process (~25 ms, half of it nft closing its
 * own socket) per call. The table, chains, maps and rules are still changed through `nft -j`.
 * @module
 */
import { type BatchMessage, MAX_DATAGRAM_BYTES } from '../../netlink/batch.js';
import { nftBatch } from '../../netlink/nftnl/nfnetlink.js';
import { NETLINK_NETFILTER } from '../../netlink/nftnl/constants.js';
import type { NetlinkSocket } from '../../netlink/socket.js';

/**
 * Applies nf_tables messages as one transaction. The real implementation is
 * {@link SocketNftNetlink}; unit tests use the recording `FakeNftNetlink`.
 */
export interface NftNetlink {
  /** Most bytes one batch may take on the wire; callers split larger changes (`splitNftBatch`). */
  readonly maxBatchBytes: number;
  /**
   * Applies `messages` (NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, ...) in one batch: all or none.
   * The kernel's refusal rejects with a `NetlinkError` (`errnoName` `ENOENT`, `EEXIST`, ...);
   * failing to open or use the socket rejects with another error.
   */
  apply(messages: readonly BatchMessage[]): Promise<void>;
  /**
   * Sends one request that changes nothing (NFT_MSG_GETCHAIN, ...) and waits for its ACK; what
   * the kernel answers before the ACK is not read. Rejects as `apply` does: ENOENT means the
   * object (or its table) is missing.
   */
  request(message: BatchMessage): Promise<void>;
  /**
   * Sends one dump request (`listChainsMessage()`, `listRulesMessage()`) and resolves with the
   * payload (after the nlmsghdr) of every message of the answer. Rejects as `request` does.
   */
  dump(message: BatchMessage): Promise<Buffer[]>;
  /** Closes the socket, if one was opened. The next call opens a new one. */
  close(): void;
}

/**
 * A NETLINK_NETFILTER socket in the namespace the process runs in, opened on first use.
 *
 * @example
 * ```ts
 * const netlink = new SocketNftNetlink();
 * await netlink.apply(portsSetupMessages(ep));
 * netlink.close();
 * ```
 */
export class SocketNftNetlink implements NftNetlink {
  readonly maxBatchBytes = MAX_DATAGRAM_BYTES;
  #socket: NetlinkSocket | undefined;

  async apply(messages: readonly BatchMessage[]): Promise<void> {
    if (messages.length === 0) return;
    (await this.#open()).requestBatch(nftBatch(messages));
  }

  async request(message: BatchMessage): Promise<void> {
    // Not wrapped in a batch: nfnetlink answers a read inside one with EINVAL. requestBatch() of
    // the one message waits for its ACK and names its op and object when the kernel refuses it.
    (await this.#open()).requestBatch([message]);
  }

  async dump(message: BatchMessage): Promise<Buffer[]> {
    const ctx = { ...(message.op === undefined ? {} : { op: message.op }), ...(message.object === undefined ? {} : { object: message.object }) };
    return (await this.#open()).dump(message.type, message.payload, ctx).map((m) => m.payload);
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }

  async #open(): Promise<NetlinkSocket> {
    if (this.#socket === undefined) {
      // Loaded on first use, as runner.ts loads child_process: unit tests of the driver never load
      // the native addon, and processes that neither publish a port nor probe never pay for it.
      const { NetlinkSocket } = await import('../../netlink/socket.js');
      this.#socket ??= NetlinkSocket.open({ protocol: NETLINK_NETFILTER });
    }
    return this.#socket;
  }
}
