/**
 * The kernel's change notifications for one network namespace, decoded: links appearing, changing
 * and going (RTNLGRP_LINK), addresses (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR), forwarding and
 * other IP settings (RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF) over rtnetlink, and every committed
 * change of the nftables ruleset (NFNLGRP_NFTABLES over nfnetlink).
 *
 * Nothing polls and no thread waits: the event loop calls back when a socket is readable (a libuv
 * poll handle in the addon), and the queued datagrams are taken without blocking. When the kernel
 * drops notifications because the receive buffer (1 MiB) is full, the monitor says so once with an
 * `overrun` event: what the consumer follows must be read afresh.
 * @module
 */
import { debuglog } from 'node:util';
import { errorMessage, fromSystemError } from '../errors.js';
import { type NetlinkWatch, native } from '../native/binding.js';
import {
  AF_BRIDGE,
  NETLINK_ROUTE,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNETCONF,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNETCONF,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV4_NETCONF,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_IPV6_NETCONF,
  RTNLGRP_LINK,
} from './constants.js';
import { decodeMessages, type NetlinkMessage } from './message.js';
import { type NftEvent, decodeNftEvent } from './nftnl/events.js';
import { NETLINK_NETFILTER, NFNLGRP_NFTABLES } from './nftnl/constants.js';
import { type AddressInfo, decodeAddress } from './rtnl/addr.js';
import { decodeLink, type LinkInfo } from './rtnl/link.js';
import { decodeNetconf, type NetconfInfo } from './rtnl/netconf.js';

const debug = debuglog('ctnet');

/** Datagrams taken per readiness callback; the event loop calls again while more are queued. */
const DRAIN_BATCH = 256;

/** Which of the monitor's two sockets. */
export type MonitorSource = 'rtnetlink' | 'nftables';

/** One change the kernel announced. */
export type KernelEvent =
  /** RTM_NEWLINK (created or changed: flags, master, name, alias) or RTM_DELLINK, with the whole link. */
  | { type: 'link'; op: 'new' | 'del'; link: LinkInfo }
  | { type: 'address'; op: 'new' | 'del'; address: AddressInfo }
  | { type: 'netconf'; netconf: NetconfInfo }
  | { type: 'nftables'; change: NftEvent }
  /** The kernel dropped notifications of `source`: re-read whatever state depends on them. */
  | { type: 'overrun'; source: MonitorSource };

export interface KernelMonitorOptions {
  /** Watch the namespace of this open descriptor; default: the caller's own. */
  netnsFd?: number;
  /** Which sockets to open; default both. */
  sources?: readonly MonitorSource[];
  /** Each event, in the kernel's order per source. What it throws is an uncaught exception. */
  onEvent(event: KernelEvent): void;
  /** A socket failed (it is closed with the whole monitor), e.g. polling it reported an error. */
  onError(err: Error): void;
}

const GROUPS: Readonly<Record<MonitorSource, { protocol: number; groups: readonly number[] }>> = {
  rtnetlink: { protocol: NETLINK_ROUTE, groups: [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF] },
  nftables: { protocol: NETLINK_NETFILTER, groups: [NFNLGRP_NFTABLES] },
};

interface Subscription {
  source: MonitorSource;
  fd: number;
  watch: NetlinkWatch | undefined;
}

/**
 * A running subscription to the kernel's notifications.
 * @example
 * ```ts
 * const monitor = KernelMonitor.open({
 *   onEvent: (e) => { if (e.type === 'link' && e.op === 'del') console.log('gone:', e.link.name); },
 *   onError: (err) => { console.error(err.message); },
 * });
 * // ...
 * monitor.close();
 * ```
 */
export class KernelMonitor {
  readonly #subscriptions: Subscription[] = [];
  readonly #options: KernelMonitorOptions;
  #closed = false;

  private constructor(options: KernelMonitorOptions) {
    this.#options = options;
  }

  /** Opens the sockets and joins the groups; events flow from the next turn of the event loop. */
  static open(options: KernelMonitorOptions): KernelMonitor {
    const monitor = new KernelMonitor(options);
    try {
      for (const source of options.sources ?? (['rtnetlink', 'nftables'] as const)) monitor.#subscribe(source);
    } catch (err) {
      monitor.close();
      throw fromSystemError('open kernel monitor', err);
    }
    return monitor;
  }

  /** Stops every watch and closes the sockets; no event is delivered afterwards. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of this.#subscriptions.splice(0)) {
      if (sub.watch !== undefined) native.netlinkUnwatch(sub.watch);
      native.close(sub.fd);
    }
  }

  #subscribe(source: MonitorSource): void {
    const { protocol, groups } = GROUPS[source];
    const sub: Subscription = { source, fd: native.netlinkOpen(this.#options.netnsFd ?? -1, protocol), watch: undefined };
    this.#subscriptions.push(sub);
    for (const group of groups) native.netlinkAddMembership(sub.fd, group);
    sub.watch = native.netlinkWatch(sub.fd, (err) => {
      this.#readable(sub, err);
    });
  }

  #readable(sub: Subscription, err: Error | null): void {
    if (this.#closed) return;
    let drained;
    try {
      if (err !== null) throw err;
      drained = native.netlinkDrain(sub.fd, DRAIN_BATCH);
    } catch (failure) {
      this.close();
      this.#options.onError(fromSystemError(`read ${sub.source} notifications`, failure));
      return;
    }
    for (const datagram of drained.datagrams) {
      for (const msg of decodeMessages(datagram)) {
        const event = decodeEvent(sub.source, msg);
        if (event === undefined) continue;
        this.#options.onEvent(event);
        // The listener may have closed the monitor: nothing after that.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- onEvent may call close()
        if (this.#closed) return;
      }
    }
    if (drained.overrun) this.#options.onEvent({ type: 'overrun', source: sub.source });
  }
}

/** One notification as a {@link KernelEvent}; undefined for what the monitor does not report. */
export function decodeEvent(source: MonitorSource, msg: NetlinkMessage): KernelEvent | undefined {
  try {
    if (source === 'nftables') {
      const change = decodeNftEvent(msg);
      return change === undefined ? undefined : { type: 'nftables', change };
    }
    switch (msg.type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        // The bridge announces its ports' own state as AF_BRIDGE link messages, and an AF_BRIDGE
        // RTM_DELLINK means a port left the bridge, not that a link is gone: not link events.
        if (msg.payload.readUInt8(0) === AF_BRIDGE) return undefined;
        return { type: 'link', op: msg.type === RTM_NEWLINK ? 'new' : 'del', link: decodeLink(msg.payload) };
      case RTM_NEWADDR:
      case RTM_DELADDR:
        return { type: 'address', op: msg.type === RTM_NEWADDR ? 'new' : 'del', address: decodeAddress(msg.payload) };
      case RTM_NEWNETCONF:
      case RTM_DELNETCONF: {
        const netconf = decodeNetconf(msg.payload);
        return netconf === undefined ? undefined : { type: 'netconf', netconf };
      }
      default:
        return undefined;
    }
  } catch (err) {
    // A message the decoders cannot read (truncated, a family they do not know) is skipped.
    debug('kernel monitor: skipping message type %d from %s: %s', msg.type, source, errorMessage(err));
    return undefined;
  }
}
