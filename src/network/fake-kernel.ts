/**
 * An in-memory {@link Kernel} for the engine's unit tests: links, addresses and routes per
 * namespace, sysctls in a map, the host's bound sockets in a list, and errors injected into the
 * next matching request. It models what the engine's steps rely on and no more: EEXIST for a
 * taken name or address, ENODEV for a missing link, a veth peer made in the namespace of its fd
 * and gone with its pair, the connected and local routes of an address, per-interface sysctls
 * that exist while their interface does. It never touches the host, so tests run as any user.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { InvalidConfigError, NetlinkError, NotFoundError, SystemError } from '../errors.js';
import { cidrContains, cidrNetwork, ipWithPrefix } from '../inet/cidr.js';
import { familyBits, formatIp, type IpAddress, ipEquals } from '../inet/ip.js';
import { IFF_LOOPBACK, IFF_UP, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTN_LOCAL, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL } from '../netlink/constants.js';
import type { Address, AddressInfo } from '../netlink/rtnl/addr.js';
import type { Rtnl } from '../netlink/rtnl/handle.js';
import type { BridgePortChange, Link, LinkChange, LinkInfo } from '../netlink/rtnl/link.js';
import type { Route, RouteInfo } from '../netlink/rtnl/route.js';
import { type ContainerNetns, type NetnsAccess, type NetnsRef, parseNetnsRef, type SysctlAccess, sysctlName } from '../netns/netns.js';
import type { HostSocket } from './host-probes.js';
import type { Kernel } from './kernel.js';

/** A verb of {@link Rtnl} that can be made to fail. */
export type RtnlVerb = Exclude<keyof Rtnl, 'close'>;

const OPS: Readonly<Record<RtnlVerb, string>> = {
  linkAdd: 'RTM_NEWLINK',
  linkGet: 'RTM_GETLINK',
  linkList: 'RTM_GETLINK',
  linkSet: 'RTM_NEWLINK',
  linkRemoveAsync: 'RTM_DELLINK',
  bridgePortSet: 'RTM_SETLINK',
  addrAdd: 'RTM_NEWADDR',
  addrGet: 'RTM_GETADDR',
  routeAdd: 'RTM_NEWROUTE',
  routeList: 'RTM_GETROUTE',
};

function errno(name: string): number {
  const n = (osConstants.errno as Record<string, number | undefined>)[name];
  if (n === undefined) throw new TypeError(`unknown errno ${name}`);
  return n;
}

/** One link of a fake namespace. */
export interface FakeLink {
  index: number;
  name: string;
  kind: string | undefined;
  mtu: number;
  mac: string | undefined;
  up: boolean;
  loopback: boolean;
  masterIndex: number | undefined;
  alias: string | undefined;
  hairpin: boolean;
  /** The other end of a veth. */
  peer: { ns: FakeNamespace; index: number } | undefined;
}

/** One network namespace: its links, addresses and routes. */
export class FakeNamespace {
  readonly name: string;
  readonly identity: string;
  readonly links = new Map<number, FakeLink>();
  addresses: AddressInfo[] = [];
  routes: RouteInfo[] = [];
  #nextIndex = 1;

  constructor(name: string, identity: string) {
    this.name = name;
    this.identity = identity;
    // A fresh namespace has its loopback, down.
    this.addLink({ name: 'lo', kind: undefined, mtu: 65536, mac: undefined, up: false, loopback: true });
  }

  /** Add a link without a request: the namespace's own interfaces (an uplink, a foreign bridge). */
  addLink(link: Pick<FakeLink, 'name' | 'kind' | 'mtu' | 'mac' | 'up'> & Partial<FakeLink>): FakeLink {
    const made: FakeLink = { masterIndex: undefined, alias: undefined, hairpin: false, peer: undefined, loopback: false, ...link, index: this.#nextIndex++ };
    this.links.set(made.index, made);
    return made;
  }

  /** The link of that name or index. */
  find(link: number | string): FakeLink | undefined {
    if (typeof link === 'number') return this.links.get(link);
    for (const l of this.links.values()) if (l.name === link) return l;
    return undefined;
  }

  /** Names of the links, in index order. */
  linkNames(): string[] {
    return [...this.links.values()].map((l) => l.name);
  }

  /** Add an address with the routes the kernel adds for it: the local one and, unless told not to, the connected one. */
  addAddress(a: Address): void {
    this.addresses.push({ index: a.index, ip: a.ip, prefix: a.prefix, flags: 0, scope: RT_SCOPE_UNIVERSE });
    const base = { family: a.ip.family, gateway: undefined, oifIndex: a.index, protocol: RTPROT_KERNEL, metric: undefined };
    this.routes.push({ ...base, dst: { ip: a.ip, prefix: familyBits(a.ip.family) }, table: RT_TABLE_LOCAL, scope: RT_SCOPE_HOST, type: RTN_LOCAL });
    if (a.noPrefixRoute !== true && a.prefix < familyBits(a.ip.family)) {
      const subnet = ipWithPrefix(a.ip, a.prefix).cidr;
      this.routes.push({ ...base, dst: { ip: cidrNetwork(subnet), prefix: a.prefix }, table: RT_TABLE_MAIN, scope: RT_SCOPE_LINK, type: RTN_UNICAST });
    }
  }

  /** Remove a link with what hangs on it: addresses, routes, a veth's peer; its ports leave their bridge. */
  removeLink(index: number): void {
    const link = this.links.get(index);
    if (link === undefined) return;
    this.links.delete(index);
    this.addresses = this.addresses.filter((a) => a.index !== index);
    this.routes = this.routes.filter((r) => r.oifIndex !== index);
    for (const l of this.links.values()) if (l.masterIndex === index) l.masterIndex = undefined;
    if (link.peer !== undefined) {
      const { ns, index: peer } = link.peer;
      link.peer = undefined;
      const other = ns.links.get(peer);
      if (other !== undefined) other.peer = undefined;
      ns.removeLink(peer);
    }
  }

  info(l: FakeLink): LinkInfo {
    return {
      index: l.index,
      name: l.name,
      flags: (l.up ? IFF_UP : 0) | (l.loopback ? IFF_LOOPBACK : 0),
      up: l.up,
      mtu: l.mtu,
      mac: l.mac,
      masterIndex: l.masterIndex,
      kind: l.kind,
      slaveKind: l.masterIndex === undefined ? undefined : 'bridge',
      parentIndex: l.peer?.index,
      linkNetnsId: undefined,
      operstate: undefined,
      alias: l.alias,
    };
  }
}

/** A request that will fail: the next one of `verb` in namespace `where` (any when undefined). */
interface Injected {
  verb: RtnlVerb;
  errnoName: string;
  where: string | undefined;
}

/** rtnetlink on one fake namespace. */
class FakeRtnl implements Rtnl {
  readonly #kernel: FakeKernel;
  readonly #ns: FakeNamespace;

  constructor(kernel: FakeKernel, ns: FakeNamespace) {
    this.#kernel = kernel;
    this.#ns = ns;
  }

  #request(verb: RtnlVerb, object: string): void {
    this.#kernel.requests.push({ ns: this.#ns.name, verb, object });
    this.#kernel.takeFailure(verb, this.#ns.name, object);
  }

  #fail(verb: RtnlVerb, object: string, errnoName: string): never {
    throw new NetlinkError({ op: OPS[verb], object, errno: -errno(errnoName) });
  }

  #link(verb: RtnlVerb, link: number | string): FakeLink {
    const found = this.#ns.find(link);
    if (found === undefined) this.#fail(verb, String(link), 'ENODEV');
    return found;
  }

  linkAdd(link: Link): void {
    this.#request('linkAdd', link.name);
    if (this.#ns.find(link.name) !== undefined) this.#fail('linkAdd', link.name, 'EEXIST');
    const peerNs = link.kind === 'veth' ? (link.peer.netnsFd === undefined ? this.#ns : this.#kernel.namespaceOfFd(link.peer.netnsFd)) : undefined;
    if (link.kind === 'veth' && peerNs?.find(link.peer.name) !== undefined) this.#fail('linkAdd', link.name, 'EEXIST');
    if (link.masterIndex !== undefined) this.#link('linkAdd', link.masterIndex);
    const made = this.#ns.addLink({ name: link.name, kind: link.kind, mtu: link.mtu ?? 1500, mac: link.mac ?? this.#kernel.nextMac(), up: link.up === true, masterIndex: link.masterIndex });
    if (link.kind === 'veth' && peerNs !== undefined) {
      const peer = peerNs.addLink({ name: link.peer.name, kind: 'veth', mtu: link.peer.mtu ?? made.mtu, mac: link.peer.mac ?? this.#kernel.nextMac(), up: false });
      made.peer = { ns: peerNs, index: peer.index };
      peer.peer = { ns: this.#ns, index: made.index };
    }
  }

  linkGet(link: number | string): LinkInfo | undefined {
    this.#request('linkGet', String(link));
    const found = this.#ns.find(link);
    return found === undefined ? undefined : this.#ns.info(found);
  }

  linkList(): LinkInfo[] {
    this.#request('linkList', '');
    return [...this.#ns.links.values()].map((l) => this.#ns.info(l));
  }

  linkSet(index: number, change: LinkChange): void {
    this.#request('linkSet', String(index));
    const link = this.#link('linkSet', index);
    if (change.name !== undefined && change.name !== link.name) {
      if (this.#ns.find(change.name) !== undefined) this.#fail('linkSet', String(index), 'EEXIST');
      link.name = change.name;
    }
    // The kernel refuses to bring a veth up whose peer is not in a namespace yet; here both always are.
    if (change.up !== undefined) link.up = change.up;
    if (change.mtu !== undefined) link.mtu = change.mtu;
    if (change.mac !== undefined) link.mac = change.mac;
    if (change.masterIndex !== undefined) link.masterIndex = change.masterIndex === 0 ? undefined : change.masterIndex;
    if (change.alias !== undefined) link.alias = change.alias;
  }

  linkRemoveAsync(link: number | string): Promise<void> {
    return new Promise((resolve) => {
      // A throw in the executor rejects the promise, as a failed request does.
      this.#request('linkRemoveAsync', String(link));
      const found = this.#ns.find(link);
      if (found !== undefined) this.#ns.removeLink(found.index);
      resolve();
    });
  }

  bridgePortSet(index: number, change: BridgePortChange): void {
    this.#request('bridgePortSet', String(index));
    const link = this.#link('bridgePortSet', index);
    if (link.masterIndex === undefined) this.#fail('bridgePortSet', String(index), 'EOPNOTSUPP');
    if (change.hairpin !== undefined) link.hairpin = change.hairpin;
  }

  addrAdd(a: Address): void {
    const object = `${formatIp(a.ip)}/${a.prefix}`;
    this.#request('addrAdd', object);
    this.#link('addrAdd', a.index);
    if (this.#ns.addresses.some((x) => x.index === a.index && ipEquals(x.ip, a.ip))) this.#fail('addrAdd', object, 'EEXIST');
    this.#ns.addAddress(a);
  }

  addrGet(a: { index: number; ip: IpAddress }): AddressInfo | undefined {
    this.#request('addrGet', formatIp(a.ip));
    return this.#ns.addresses.find((x) => x.index === a.index && ipEquals(x.ip, a.ip));
  }

  routeAdd(r: Route): void {
    const object = r.dst === undefined ? 'default' : `${formatIp(r.dst.ip)}/${r.dst.prefix}`;
    this.#request('routeAdd', object);
    if (r.oifIndex !== undefined) this.#link('routeAdd', r.oifIndex);
    const table = r.table ?? RT_TABLE_MAIN;
    const same = (x: RouteInfo): boolean =>
      x.family === r.family && x.table === table && x.metric === r.metric &&
      (x.dst === undefined ? r.dst === undefined : r.dst !== undefined && x.dst.prefix === r.dst.prefix && ipEquals(x.dst.ip, r.dst.ip));
    if (this.#ns.routes.some(same)) this.#fail('routeAdd', object, 'EEXIST');
    // A gateway must be reachable through a route of the link (ptp adds a link route to it first).
    if (r.gateway !== undefined && r.onlink !== true) {
      const gw = r.gateway;
      const reachable = this.#ns.routes.some((x) => x.table === RT_TABLE_MAIN && x.gateway === undefined && x.dst !== undefined && (r.oifIndex === undefined || x.oifIndex === r.oifIndex) &&
        cidrContains(ipWithPrefix(x.dst.ip, x.dst.prefix).cidr, gw));
      if (!reachable) this.#fail('routeAdd', object, 'ENETUNREACH');
    }
    const scope = (r.scope ?? (r.gateway === undefined ? 'link' : 'universe')) === 'link' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    this.#ns.routes.push({ family: r.family, dst: r.dst, gateway: r.gateway, oifIndex: r.oifIndex, table, protocol: RTPROT_BOOT, scope, type: RTN_UNICAST, metric: r.metric });
  }

  routeList(family: 4 | 6): RouteInfo[] {
    this.#request('routeList', `IPv${family}`);
    return this.#ns.routes.filter((r) => r.family === family);
  }

  close(): void {
    this.#kernel.closedHandles++;
  }
}

/** The default of a per-interface sysctl, by its last part. */
const INTERFACE_SYSCTLS: Readonly<Record<string, string>> = { accept_ra: '1', accept_dad: '1', route_localnet: '0', forwarding: '0' };
const INTERFACE_KEY = /^net\/ipv[46]\/conf\/([^/]+)\/([a-z_]+)$/;

/** The sysctls of the fake host: the global ones in a map, each interface's while it exists. */
class FakeSysctls implements SysctlAccess {
  readonly #kernel: FakeKernel;
  readonly #values = new Map<string, string>([
    ['net/ipv4/ip_forward', '0'],
    ['net/ipv6/conf/all/forwarding', '0'],
  ]);
  /** Every write, in order: `[key, value]`. */
  readonly writes: [key: string, value: string][] = [];
  /** Keys whose next write fails with EPERM. */
  readonly failWrites = new Set<string>();

  constructor(kernel: FakeKernel) {
    this.#kernel = kernel;
  }

  read(key: string): string {
    const value = this.readIfPresent(key);
    if (value === undefined) throw new SystemError(`read sysctl ${sysctlName(key)}: no such key`, { errno: errno('ENOENT'), syscall: 'open' });
    return value;
  }

  readIfPresent(key: string): string | undefined {
    const known = this.#values.get(key);
    if (known !== undefined) return known;
    const m = INTERFACE_KEY.exec(key);
    if (m === null) return undefined;
    const [, ifname = '', leaf = ''] = m;
    if (ifname !== 'all' && ifname !== 'default' && this.#kernel.hostNs.find(ifname) === undefined) return undefined;
    return INTERFACE_SYSCTLS[leaf];
  }

  write(key: string, value: string): void {
    if (this.readIfPresent(key) === undefined) throw new SystemError(`set sysctl ${sysctlName(key)}=${value}: no such key`, { errno: errno('ENOENT'), syscall: 'open' });
    if (this.failWrites.delete(key)) throw new SystemError(`set sysctl ${sysctlName(key)}=${value}: permission denied`, { errno: errno('EPERM'), syscall: 'write' });
    this.writes.push([key, value]);
    this.#values.set(key, value);
  }
}

/**
 * The fake kernel. The host namespace has `lo` up with 127.0.0.1/8; `addNamespace` makes named
 * container namespaces (`/run/netns/NAME`); `failNext` makes a request fail.
 * @example
 * ```ts
 * const kernel = new FakeKernel();
 * kernel.addNamespace('c1');
 * const ct = Ctnet.open({ stateDir, kernel, firewall: new NoneFirewallDriver() });
 * await ct.createNetwork({ name: 'net1', subnets: ['10.68.0.0/24'] });
 * kernel.failNext('routeAdd', 'ENETUNREACH', 'c1');
 * await ct.connect('net1', 'c1'); // fails and rolls back
 * ```
 */
export class FakeKernel implements Kernel {
  readonly hostNs = new FakeNamespace('host', 'fake:0');
  readonly host: Rtnl;
  readonly sysctls: FakeSysctls;
  readonly netns: NetnsAccess;
  /** What the host's sockets are bound to, as /proc/net would list them. */
  sockets: HostSocket[] = [];
  /** Every request, in order, with the namespace it went to. */
  readonly requests: { ns: string; verb: RtnlVerb; object: string }[] = [];
  /** How many container namespace fds are open. */
  openFds = 0;
  /** How many handles were closed (the host's and the containers'). */
  closedHandles = 0;
  readonly #byPath = new Map<string, FakeNamespace>();
  readonly #byFd = new Map<number, FakeNamespace>();
  readonly #failures: Injected[] = [];
  #nextFd = 100;
  #nextId = 1;
  #nextMac = 1;

  constructor() {
    this.host = new FakeRtnl(this, this.hostNs);
    this.sysctls = new FakeSysctls(this);
    const lo = this.hostNs.find('lo');
    if (lo !== undefined) {
      lo.up = true;
      this.hostNs.addAddress({ index: lo.index, ip: { family: 4, value: 0x7f000001n }, prefix: 8 });
    }
    // The namespace ctnet runs in, however it is named: never a container.
    for (const path of ['/proc/self/ns/net', '/proc/1/ns/net']) this.#byPath.set(path, this.hostNs);
    this.netns = {
      openContainer: (ref) => this.#openContainer(ref),
      identity: (ref) => this.#byPath.get(ref.path)?.identity,
      deleteNamed: (name) => {
        const path = parseNetnsRef(name).path;
        if (!this.#byPath.delete(path)) throw new NotFoundError(`network namespace "${name}" not found`);
      },
    };
  }

  /** A named namespace, as `ip netns add NAME` makes it. */
  addNamespace(name: string): FakeNamespace {
    const ns = new FakeNamespace(name, `fake:${this.#nextId++}`);
    this.#byPath.set(parseNetnsRef(name).path, ns);
    return ns;
  }

  /**
   * End a named namespace as the kernel does when its last user goes: its name goes, and every
   * link in it with the other end of each veth (the host ends of its containers' pairs).
   */
  destroyNamespace(name: string): void {
    const ns = this.namespace(name);
    if (ns === undefined) throw new NotFoundError(`network namespace "${name}" not found`);
    this.#byPath.delete(parseNetnsRef(name).path);
    for (const index of [...ns.links.keys()]) ns.removeLink(index);
  }

  /** The namespace a reference leads to. */
  namespace(spec: string): FakeNamespace | undefined {
    return this.#byPath.get(parseNetnsRef(spec).path);
  }

  /** Make the next request of `verb` (in namespace `where`, `host` or a name; any when omitted) fail with `errnoName`. */
  failNext(verb: RtnlVerb, errnoName: string, where?: string): void {
    errno(errnoName);
    this.#failures.push({ verb, errnoName, where });
  }

  /** Throw the injected failure that matches this request, if any. */
  takeFailure(verb: RtnlVerb, where: string, object: string): void {
    const i = this.#failures.findIndex((f) => f.verb === verb && (f.where === undefined || f.where === where));
    if (i === -1) return;
    const [failure] = this.#failures.splice(i, 1);
    if (failure !== undefined) throw new NetlinkError({ op: OPS[verb], object, errno: -errno(failure.errnoName) });
  }

  /** The namespace of a container fd the engine holds open. */
  namespaceOfFd(fd: number): FakeNamespace {
    const ns = this.#byFd.get(fd);
    if (ns === undefined) throw new NetlinkError({ op: 'RTM_NEWLINK', object: `fd ${fd}`, errno: -errno('EBADF') });
    return ns;
  }

  /** A locally administered MAC for links made without one. */
  nextMac(): string {
    const n = this.#nextMac++;
    return `02:fa:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
  }

  hostSockets(protocols: ReadonlySet<'tcp' | 'udp'>): HostSocket[] {
    return this.sockets.filter((s) => protocols.has(s.protocol));
  }

  close(): void {
    this.closedHandles++;
  }

  #openContainer(ref: NetnsRef): ContainerNetns {
    const ns = this.#byPath.get(ref.path);
    if (ns === undefined) throw new NotFoundError(`container "${ref.spec}" not found: no network namespace at ${ref.path}`);
    if (ns === this.hostNs) throw new InvalidConfigError(`container "${ref.spec}" is the network namespace ctnet runs in, not a container's`);
    const fd = this.#nextFd++;
    this.#byFd.set(fd, ns);
    this.openFds++;
    let closed = false;
    return {
      ref,
      fd,
      identity: ns.identity,
      openHandle: () => new FakeRtnl(this, ns),
      close: () => {
        if (closed) return;
        closed = true;
        this.#byFd.delete(fd);
        this.openFds--;
      },
    };
  }
}
