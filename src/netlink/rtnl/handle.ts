/**
 * RtnlHandle: every rtnetlink verb ctnet uses, on one socket opened inside one network namespace.
 * Open one handle per namespace and do all the work there through it; nothing ever switches the
 * process into another namespace.
 * @module
 */
import { formatIp, type IpAddress } from '../../inet/ip.js';
import { isNotFound } from '../../errors.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NETLINK_ROUTE,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from '../constants.js';
import { NetlinkSocket } from '../socket.js';
import { type Address, type AddressInfo, decodeAddress, encodeAddress, encodeAddressDump, encodeAddressGet } from './addr.js';
import {
  type BridgePortChange,
  decodeLink,
  encodeBridgePortChange,
  encodeLinkAdd,
  encodeLinkChange,
  encodeLinkSelector,
  type Link,
  type LinkChange,
  type LinkInfo,
} from './link.js';
import { decodeNeighbour, encodeNeighbour, encodeNeighbourDump, type Neighbour, type NeighbourInfo } from './neigh.js';
import { decodeRoute, encodeRoute, encodeRouteDel, encodeRouteDump, type Route, type RouteInfo } from './route.js';

export interface RtnlHandleOptions {
  /** Open the handle inside the namespace of this fd; omit for the process's own namespace. */
  netnsFd?: number;
  timeoutMs?: number;
}

function addrText(a: { ip: IpAddress; prefix: number }): string {
  return `${formatIp(a.ip)}/${a.prefix}`;
}

function routeText(r: Route): string {
  const dst = r.dst === undefined ? 'default' : addrText(r.dst);
  return r.gateway === undefined ? dst : `${dst} via ${formatIp(r.gateway)}`;
}

/**
 * The rtnetlink verbs the engine and its drivers use, on one namespace: {@link RtnlHandle} sends
 * them to the kernel; the engine's unit tests give an in-memory fake. Each verb means what the
 * handle's method of the same name documents.
 */
export interface Rtnl {
  linkAdd(link: Link): void;
  linkGet(link: number | string): LinkInfo | undefined;
  linkList(): LinkInfo[];
  linkSet(index: number, change: LinkChange): void;
  linkRemoveAsync(link: number | string): Promise<void>;
  bridgePortSet(index: number, change: BridgePortChange): void;
  addrAdd(a: Address): void;
  addrGet(a: { index: number; ip: IpAddress }): AddressInfo | undefined;
  routeAdd(r: Route): void;
  routeList(family: 4 | 6): RouteInfo[];
  close(): void;
}

export class RtnlHandle implements Rtnl {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  static open(options: RtnlHandleOptions = {}): RtnlHandle {
    return new RtnlHandle(NetlinkSocket.open({ protocol: NETLINK_ROUTE, ...options }));
  }

  close(): void {
    this.#sock.close();
  }

  /** Create a link. Equivalent to: `ip link add NAME type KIND ...`. Fails with EEXIST if the name is taken. */
  linkAdd(link: Link): void {
    this.#sock.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeLinkAdd(link), { object: link.name });
  }

  /**
   * {@link linkAdd} off the event loop (see `NetlinkSocket.requestAsync`): creating a veth pair
   * takes the kernel ~0.5 ms, more on a loaded machine.
   */
  async linkAddAsync(link: Link): Promise<void> {
    await this.#sock.requestAsync(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeLinkAdd(link), { object: link.name });
  }

  /** Delete a link (a veth takes its peer with it). Equivalent to: `ip link del NAME`. */
  linkDel(link: number | string): void {
    this.#sock.request(RTM_DELLINK, 0, encodeLinkSelector(link), { object: String(link) });
  }

  /**
   * {@link linkDel} off the event loop (see `NetlinkSocket.requestAsync`): deleting a veth or a
   * bridge takes the kernel ~15-30 ms inside sendmsg(), which would stall every other task.
   */
  async linkDelAsync(link: number | string): Promise<void> {
    await this.#sock.requestAsync(RTM_DELLINK, 0, encodeLinkSelector(link), { object: String(link) });
  }

  /** Delete a link; a link that is already gone counts as done. */
  linkRemove(link: number | string): void {
    try {
      this.linkDel(link);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** {@link linkRemove} off the event loop, as {@link linkDelAsync}. */
  async linkRemoveAsync(link: number | string): Promise<void> {
    try {
      await this.linkDelAsync(link);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Change a link. Equivalent to: `ip link set DEV [up|down] [mtu N] [address MAC] [master BR] [name NEW]`. */
  linkSet(index: number, change: LinkChange): void {
    this.#sock.request(RTM_NEWLINK, 0, encodeLinkChange(index, change), { object: String(index) });
  }

  /** Change a bridge port's options. Equivalent to: `bridge link set dev DEV hairpin on`. */
  bridgePortSet(index: number, change: BridgePortChange): void {
    this.#sock.request(RTM_SETLINK, 0, encodeBridgePortChange(index, change), { object: String(index) });
  }

  /** One link by name or index, or undefined if there is none. Equivalent to: `ip link show DEV`. */
  linkGet(link: number | string): LinkInfo | undefined {
    try {
      const [msg] = this.#sock.request(RTM_GETLINK, 0, encodeLinkSelector(link), { object: String(link) });
      return msg === undefined ? undefined : decodeLink(msg.payload);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every link. Equivalent to: `ip link show`. */
  linkList(): LinkInfo[] {
    return this.#sock.dump(RTM_GETLINK, encodeLinkSelector(0)).map((m) => decodeLink(m.payload));
  }

  /** Equivalent to: `ip addr add IP/PREFIX dev DEV`. */
  addrAdd(a: Address): void {
    this.#sock.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, encodeAddress(a), { object: addrText(a) });
  }

  /** Equivalent to: `ip addr replace IP/PREFIX dev DEV`: present afterwards whether or not it was before. */
  addrReplace(a: Address): void {
    this.#sock.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, encodeAddress(a), { object: addrText(a) });
  }

  /** Equivalent to: `ip addr del IP/PREFIX dev DEV`. */
  addrDel(a: Address): void {
    this.#sock.request(RTM_DELADDR, 0, encodeAddress(a), { object: addrText(a) });
  }

  /**
   * Address `ip` on link `index`, or undefined when the link does not have it. Equivalent to:
   * `ip addr show dev DEV to IP`. IPv6 is one request, whatever the number of addresses; the
   * kernel answers no such request for IPv4, so that is a dump of the IPv4 addresses.
   */
  addrGet(a: { index: number; ip: IpAddress }): AddressInfo | undefined {
    const same = (x: AddressInfo): boolean => x.index === a.index && x.ip.value === a.ip.value;
    if (a.ip.family === 4) return this.addrList({ family: 4, index: a.index }).find(same);
    try {
      const [msg] = this.#sock.request(RTM_GETADDR, 0, encodeAddressGet(a), { object: formatIp(a.ip) });
      const found = msg === undefined ? undefined : decodeAddress(msg.payload);
      return found !== undefined && same(found) ? found : undefined;
    } catch (err) {
      // EADDRNOTAVAIL: no such address on the link; ENODEV: no such link.
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Addresses, optionally of one family and one link. Equivalent to: `ip addr show`. */
  addrList(filter: { family?: 4 | 6; index?: number } = {}): AddressInfo[] {
    const family = filter.family === undefined ? AF_UNSPEC : filter.family === 4 ? AF_INET : AF_INET6;
    const all = this.#sock.dump(RTM_GETADDR, encodeAddressDump(family)).map((m) => decodeAddress(m.payload));
    return filter.index === undefined ? all : all.filter((a) => a.index === filter.index);
  }

  /** Equivalent to: `ip route add ...`. */
  routeAdd(r: Route): void {
    this.#sock.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, encodeRoute(r), { object: routeText(r) });
  }

  /** Equivalent to: `ip route replace ...`. */
  routeReplace(r: Route): void {
    this.#sock.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, encodeRoute(r), { object: routeText(r) });
  }

  /** Equivalent to: `ip route del ...`: deletes a matching route whoever made it. */
  routeDel(r: Route): void {
    this.#sock.request(RTM_DELROUTE, 0, encodeRouteDel(r), { object: routeText(r) });
  }

  /** Routes of one family in every table. Equivalent to: `ip route show table all`. */
  routeList(family: 4 | 6): RouteInfo[] {
    return this.#sock.dump(RTM_GETROUTE, encodeRouteDump(family)).map((m) => decodeRoute(m.payload));
  }

  /** Equivalent to: `ip neigh replace IP lladdr MAC dev DEV` (or `bridge fdb replace` without an IP). */
  neighSet(n: Neighbour): void {
    this.#sock.request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, encodeNeighbour(n), { object: n.ip === undefined ? n.mac : formatIp(n.ip) });
  }

  /** Equivalent to: `ip neigh del IP dev DEV`. */
  neighDel(n: Neighbour): void {
    this.#sock.request(RTM_DELNEIGH, 0, encodeNeighbour(n), { object: n.ip === undefined ? n.mac : formatIp(n.ip) });
  }

  /** Neighbour entries of one family (4, 6, or 'bridge' for the FDB). Equivalent to: `ip neigh show`. */
  neighList(family: 4 | 6 | 'bridge'): NeighbourInfo[] {
    const af = family === 'bridge' ? AF_BRIDGE : family === 4 ? AF_INET : AF_INET6;
    return this.#sock.dump(RTM_GETNEIGH, encodeNeighbourDump(af)).map((m) => decodeNeighbour(m.payload));
  }
}
