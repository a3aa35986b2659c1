/**
 * Links (RTM_NEWLINK/RTM_GETLINK): typed link objects, their encoding and the decoding of the
 * kernel's link messages. One encoder per kind, as vishvananda/netlink's `addXxxAttrs` helpers.
 * @module
 */
import {
  type Attr,
  attrMap,
  bytesAttr,
  encodeAttrs,
  nestedAttr,
  readString,
  readU32,
  readU8,
  s32Attr,
  stringAttr,
  u32Attr,
  u8Attr,
} from '../attr.js';
import {
  AF_BRIDGE,
  AF_UNSPEC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BR_MCAST_SNOOPING,
  IFLA_BR_STP_STATE,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  IFLA_PROTINFO,
  IFLA_BRPORT_MODE,
  IFLA_TXQLEN,
  VETH_INFO_PEER,
} from '../constants.js';
import { formatMac, parseMac } from '../../inet/mac.js';

/** Attributes every kind of link shares. Unset optional fields are left out of the request. */
export interface LinkAttrs {
  name: string;
  mtu?: number;
  /** MAC address as `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
  /** Enslave to this master (a bridge) at creation. */
  masterIndex?: number;
  /** Bring the link up at creation. */
  up?: boolean;
  /** Create the link directly inside the namespace of this fd. */
  netnsFd?: number;
  txqlen?: number;
}

/**
 * The far end of a veth pair. It cannot be brought up in the creating request: the kernel opens the
 * peer before the pair is linked and veth_open() refuses with ENOTCONN; set it up afterwards.
 */
export interface VethPeer {
  name: string;
  mtu?: number;
  mac?: string;
  /** Put the peer straight into this namespace: no later move (~20 ms of kernel time saved). */
  netnsFd?: number;
}

export interface VethLink extends LinkAttrs {
  kind: 'veth';
  peer: VethPeer;
}

export interface BridgeLink extends LinkAttrs {
  kind: 'bridge';
  /** Spanning tree; off by default as for every container bridge. */
  stp?: boolean;
  multicastSnooping?: boolean;
}

export interface DummyLink extends LinkAttrs {
  kind: 'dummy';
}

/** Any link the kernel reports or we create. */
export type Link = VethLink | BridgeLink | DummyLink;

/** What the kernel reports about a link. */
export interface LinkInfo {
  index: number;
  name: string;
  flags: number;
  up: boolean;
  mtu: number | undefined;
  mac: string | undefined;
  masterIndex: number | undefined;
  /** IFLA_INFO_KIND: 'veth', 'bridge', ... (undefined for physical devices and lo). */
  kind: string | undefined;
  /** IFLA_INFO_SLAVE_KIND: 'bridge' for a bridge port. */
  slaveKind: string | undefined;
  /** IFLA_LINK: the peer's index for a veth (in the peer's namespace). */
  parentIndex: number | undefined;
  /** IFLA_LINK_NETNSID: the peer's namespace id, seen from this namespace. */
  linkNetnsId: number | undefined;
  operstate: number | undefined;
  /** IFLA_IFALIAS (`ip link set DEV alias TEXT`); ctnet marks the links it makes with it. */
  alias: string | undefined;
}

export const IFINFOMSG_LEN = 16;

/** struct ifinfomsg: family, type, index, flags, change. */
export function encodeIfinfomsg(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

function commonAttrs(a: LinkAttrs | VethPeer): Attr[] {
  const attrs: Attr[] = [stringAttr(IFLA_IFNAME, a.name)];
  if (a.mtu !== undefined) attrs.push(u32Attr(IFLA_MTU, a.mtu));
  if (a.mac !== undefined) attrs.push(bytesAttr(IFLA_ADDRESS, parseMac(a.mac)));
  if (a.netnsFd !== undefined) attrs.push(s32Attr(IFLA_NET_NS_FD, a.netnsFd));
  return attrs;
}

function kindData(link: Link): Attr[] {
  switch (link.kind) {
    case 'veth': {
      // VETH_INFO_PEER carries a whole ifinfomsg followed by the peer's own attributes.
      const peer = link.peer;
      const body = Buffer.concat([encodeIfinfomsg(0), encodeAttrs(commonAttrs(peer))]);
      return [bytesAttr(VETH_INFO_PEER, body)];
    }
    case 'bridge': {
      const data: Attr[] = [u32Attr(IFLA_BR_STP_STATE, link.stp === true ? 1 : 0)];
      if (link.multicastSnooping !== undefined) data.push(u8Attr(IFLA_BR_MCAST_SNOOPING, link.multicastSnooping ? 1 : 0));
      return data;
    }
    case 'dummy':
      return [];
  }
}

/** The RTM_NEWLINK payload that creates `link`. */
export function encodeLinkAdd(link: Link): Buffer {
  const attrs = commonAttrs(link);
  if (link.masterIndex !== undefined) attrs.push(u32Attr(IFLA_MASTER, link.masterIndex));
  if (link.txqlen !== undefined) attrs.push(u32Attr(IFLA_TXQLEN, link.txqlen));
  const data = kindData(link);
  const info: Attr[] = [stringAttr(IFLA_INFO_KIND, link.kind)];
  if (data.length > 0) info.push(nestedAttr(IFLA_INFO_DATA, data));
  attrs.push(nestedAttr(IFLA_LINKINFO, info));
  const up = link.up === true ? IFF_UP : 0;
  return Buffer.concat([encodeIfinfomsg(0, up, up), encodeAttrs(attrs)]);
}

/** Changes to an existing link; each field left out stays as it is. */
export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  name?: string;
  /** Enslave to this master; 0 releases the link from its master. */
  masterIndex?: number;
  netnsFd?: number;
  /**
   * Set the link's alias. The kernel ignores IFLA_IFALIAS in the request that creates a link,
   * so it can only be set by a change afterwards.
   */
  alias?: string;
}

/** The RTM_NEWLINK payload that changes link `index`. */
export function encodeLinkChange(index: number, change: LinkChange): Buffer {
  const attrs: Attr[] = [];
  if (change.name !== undefined) attrs.push(stringAttr(IFLA_IFNAME, change.name));
  if (change.mtu !== undefined) attrs.push(u32Attr(IFLA_MTU, change.mtu));
  if (change.mac !== undefined) attrs.push(bytesAttr(IFLA_ADDRESS, parseMac(change.mac)));
  if (change.masterIndex !== undefined) attrs.push(u32Attr(IFLA_MASTER, change.masterIndex));
  if (change.netnsFd !== undefined) attrs.push(s32Attr(IFLA_NET_NS_FD, change.netnsFd));
  if (change.alias !== undefined) attrs.push(stringAttr(IFLA_IFALIAS, change.alias));
  const flags = change.up === true ? IFF_UP : 0;
  const mask = change.up === undefined ? 0 : IFF_UP;
  return Buffer.concat([encodeIfinfomsg(index, flags, mask), encodeAttrs(attrs)]);
}

/** Options of a bridge port; each field left out stays as it is. */
export interface BridgePortChange {
  /** Let the bridge send a frame back out of the port it came in on (IFLA_BRPORT_MODE). */
  hairpin?: boolean;
}

/** The RTM_SETLINK payload (family AF_BRIDGE) that changes bridge port `index`. */
export function encodeBridgePortChange(index: number, change: BridgePortChange): Buffer {
  const opts: Attr[] = [];
  if (change.hairpin !== undefined) opts.push(u8Attr(IFLA_BRPORT_MODE, change.hairpin ? 1 : 0));
  const head = encodeIfinfomsg(index);
  head.writeUInt8(AF_BRIDGE, 0);
  return Buffer.concat([head, encodeAttrs([nestedAttr(IFLA_PROTINFO, opts, true)])]);
}

/** The RTM_GETLINK/RTM_DELLINK payload naming a link by index or by name. */
export function encodeLinkSelector(link: number | string): Buffer {
  if (typeof link === 'number') return encodeIfinfomsg(link);
  return Buffer.concat([encodeIfinfomsg(0), encodeAttrs([stringAttr(IFLA_IFNAME, link)])]);
}

/** Decode an RTM_NEWLINK message from the kernel. */
export function decodeLink(payload: Buffer): LinkInfo {
  const index = payload.readInt32LE(4);
  const flags = payload.readUInt32LE(8);
  const attrs = attrMap(payload, IFINFOMSG_LEN);
  const info = attrs.get(IFLA_LINKINFO);
  const infoAttrs = info === undefined ? undefined : attrMap(info);
  const mac = attrs.get(IFLA_ADDRESS);
  return {
    index,
    name: readString(attrs.get(IFLA_IFNAME)) ?? '',
    flags,
    up: (flags & IFF_UP) !== 0,
    mtu: readU32(attrs.get(IFLA_MTU)),
    mac: mac === undefined || mac.length !== 6 ? undefined : formatMac(mac),
    masterIndex: readU32(attrs.get(IFLA_MASTER)),
    kind: readString(infoAttrs?.get(IFLA_INFO_KIND)),
    slaveKind: readString(infoAttrs?.get(IFLA_INFO_SLAVE_KIND)),
    parentIndex: readU32(attrs.get(IFLA_LINK)),
    linkNetnsId: readU32(attrs.get(IFLA_LINK_NETNSID)),
    operstate: readU8(attrs.get(IFLA_OPERSTATE)),
    alias: readString(attrs.get(IFLA_IFALIAS)),
  };
}
