/**
 * The engine: networks and endpoints, kept in the state database and made real in the kernel.
 * Every change validates all input first, then applies its steps with an undo for each, so a failure
 * at any step leaves nothing behind. The CLI and the CNI plugin are thin edges over this class.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { ConflictError, InvalidConfigError, NotFoundError, TeardownError, wrapError } from './errors.js';
import type { FirewallDriver, FirewallEndpoint, FirewallNetwork, PortMapping } from './firewall/driver.js';
import { NftFirewallDriver } from './firewall/nft/nft-driver.js';
import { cidrContains, cidrOverlaps, formatCidr, parseCidr, withoutPrefix } from './inet/cidr.js';
import { formatIp, type IpAddress, parseIp } from './inet/ip.js';
import { assertUnicastMac, formatMac, parseMac, randomMac } from './inet/mac.js';
import { allocateAddress } from './ipam/allocator.js';
import { RT_TABLE_MAIN, RTN_LOCAL } from './netlink/constants.js';
import { RtnlHandle } from './netlink/rtnl/handle.js';
import { Netns, parseNetnsRef, writeSysctl } from './netns/netns.js';
import { BridgeDriver } from './network/bridge-driver.js';
import { type NetworkPlan, planNetwork, subnetRecords } from './network/config.js';
import type { AttachAddress, DriverContext, NetworkDriver } from './network/driver.js';
import { boundSocketFor, expandPorts, hostSockets, indexSockets } from './network/ports.js';
import { PtpDriver } from './network/ptp-driver.js';
import { Rollback } from './network/rollback.js';
import { ensureLoopbackUp } from './network/veth.js';
import type { AttachedEndpoint, ConnectOptions, Endpoint, Network, NetworkSpec } from './network/types.js';
import type { DriverName, EndpointRecord, NetworkRecord, PortRecord } from './state/records.js';
import { withFileLock } from './state/file-lock.js';
import { describePort, StateStore } from './state/store.js';
import { validateIfName, validateNetworkName } from './validate/names.js';

const debug = debuglog('ctnet');

export const DEFAULT_STATE_DIR = '/var/lib/ctnet';

export interface CtnetOptions {
  /** Directory of the state database; default `$CTNET_STATE_DIR` or /var/lib/ctnet. */
  stateDir?: string;
  /** Firewall backend; default nftables. */
  firewall?: FirewallDriver;
  /**
   * Called after each step of a change, with the step's name (`state`, `bridge`, `veth`, ...). A
   * hook that throws makes the change fail there and roll back: this is how tests prove rollback.
   */
  onStep?: (step: string) => void | Promise<void>;
}

/** A network with its endpoints, as `inspectNetwork` returns it. */
export interface NetworkDetails extends Network {
  endpoints: Endpoint[];
}

function newId(): string {
  return randomBytes(8).toString('hex');
}

function firewallNetwork(net: NetworkRecord): FirewallNetwork {
  return {
    id: net.id,
    name: net.name,
    subnets: net.subnets.map((s) => ({ cidr: s.subnet, family: parseCidr(s.subnet).family })),
    mode: net.internal ? 'internal' : net.nat ? 'nat' : 'routed',
  };
}

/**
 * The ctnet engine.
 * @example
 * ```ts
 * const ct = Ctnet.open({ stateDir: '/var/lib/ctnet' });
 * await ct.createNetwork({ name: 'net1', subnets: ['10.68.0.0/24'] });
 * const ep = await ct.connect('net1', 'c1');   // c1: a named netns
 * console.log(ep.addresses);                   // ['10.68.0.2/24']
 * ct.close();
 * ```
 */
export class Ctnet {
  readonly #store: StateStore;
  readonly #firewall: FirewallDriver;
  readonly #firewallLock: string;
  readonly #lockDir: string;
  readonly #onStep: ((step: string) => void | Promise<void>) | undefined;
  readonly #drivers: Record<DriverName, NetworkDriver> = { bridge: new BridgeDriver(), ptp: new PtpDriver() };
  #host: RtnlHandle | undefined;

  private constructor(store: StateStore, stateDir: string, options: CtnetOptions) {
    this.#store = store;
    this.#firewallLock = join(stateDir, 'firewall.lock');
    this.#lockDir = join(stateDir, 'locks');
    mkdirSync(this.#lockDir, { recursive: true, mode: 0o700 });
    this.#firewall = options.firewall ?? new NftFirewallDriver();
    this.#onStep = options.onStep;
  }

  static open(options: CtnetOptions = {}): Ctnet {
    const dir = options.stateDir ?? process.env['CTNET_STATE_DIR'] ?? DEFAULT_STATE_DIR;
    return new Ctnet(StateStore.open(dir), dir, options);
  }

  close(): void {
    this.#host?.close();
    this.#host = undefined;
    this.#firewall.close?.();
    this.#store.close();
  }

  get #ctx(): DriverContext {
    this.#host ??= RtnlHandle.open();
    return { host: this.#host, step: (name) => this.#step(name), sysctl: (key, value) => writeSysctl(key, value) };
  }

  async #step(name: string): Promise<void> {
    debug('step %s', name);
    await this.#onStep?.(name);
  }

  /** Create a network. Equivalent to: `ctnet network create NAME --subnet CIDR ...`. */
  async createNetwork(spec: NetworkSpec): Promise<Network> {
    const id = newId();
    const plan = planNetwork(spec, id);
    // Exclusive until the bridge and firewall exist: a connect arriving meanwhile waits for them.
    return this.#withNetworkLock(plan.name, 'exclusive', () => this.#createNetwork(plan, id));
  }

  async #createNetwork(plan: NetworkPlan, id: string): Promise<Network> {
    const ctx = this.#ctx;
    const record: NetworkRecord = {
      id,
      name: plan.name,
      driver: plan.driver,
      bridge: plan.bridge,
      mtu: plan.mtu,
      nat: plan.nat,
      internal: plan.internal,
      subnets: subnetRecords(plan),
      created: new Date().toISOString(),
    };
    // ctnet's own networks first: their bridges and routes are host objects too, and "network
    // "x" already exists" says more than "bridge "ct-x" is already used by an existing interface".
    this.#checkStateConflicts(plan);
    this.#checkHostConflicts(ctx.host, plan.bridge, plan.subnets.map((s) => s.cidr), plan.name);
    this.#store.transaction(() => {
      // Again under the write lock: another process may have created a network since.
      this.#checkStateConflicts(plan);
      this.#store.insertNetwork(record);
    });
    const rb = new Rollback();
    try {
      rb.push('state', () => void this.#store.deleteNetwork(id));
      await this.#step('state');
      await this.#drivers[record.driver].setup(ctx, record, rb);
      if (!record.internal) this.#enableForwarding(record);
      await this.#step('forwarding');
      const fw = firewallNetwork(record);
      await this.#withFirewall((f) => f.setupNetwork(fw));
      rb.push('firewall', () => this.#withFirewall((f) => f.teardownNetwork(fw)));
      await this.#step('firewall');
      rb.commit();
    } catch (err) {
      throw wrapError(`create network "${record.name}"`, await rb.unwind(err));
    }
    return toNetwork(record);
  }

  /** Remove a network that has no endpoints. Equivalent to: `ctnet network rm NAME`. */
  async removeNetwork(name: string): Promise<void> {
    validateNetworkName(name);
    await this.#withNetworkLock(name, 'exclusive', () => this.#removeNetwork(name));
  }

  async #removeNetwork(name: string): Promise<void> {
    const net = this.#store.transaction(() => {
      const found = this.#requireNetwork(name);
      const endpoints = this.#store.listEndpoints({ networkId: found.id });
      if (endpoints.length > 0) {
        const who = endpoints.map((e) => `"${e.container}"`).join(', ');
        throw new ConflictError(`network "${name}" still has ${endpoints.length} endpoint(s): ${who}; disconnect them first`);
      }
      this.#store.deleteNetwork(found.id);
      return found;
    });
    // The record is gone, so no new endpoint can arrive; now take down what the kernel holds, best effort.
    const failures: unknown[] = [];
    try {
      await this.#withFirewall((f) => f.teardownNetwork(firewallNetwork(net)));
    } catch (err) {
      failures.push(err);
    }
    try {
      this.#drivers[net.driver].teardown(this.#ctx, net);
    } catch (err) {
      failures.push(err);
    }
    if (failures.length > 0) throw TeardownError.summarize(`remove network "${name}"`, failures);
  }

  /** Every network, by name. Equivalent to: `ctnet network ls`. */
  listNetworks(): Network[] {
    return this.#store.listNetworks().map(toNetwork);
  }

  /** One network with its endpoints. Equivalent to: `ctnet network inspect NAME`. */
  inspectNetwork(name: string): NetworkDetails {
    const net = this.#requireNetwork(name);
    return { ...toNetwork(net), endpoints: this.#store.listEndpoints({ networkId: net.id }).map((e) => toEndpoint(e, net)) };
  }

  /** Every endpoint on every network. Equivalent to: `ctnet ls`. */
  listEndpoints(): Endpoint[] {
    const nets = new Map(this.#store.listNetworks().map((n) => [n.id, n]));
    return this.#store.listEndpoints().flatMap((e) => {
      const net = nets.get(e.networkId);
      return net === undefined ? [] : [toEndpoint(e, net)];
    });
  }

  /**
   * Connect a container (named netns, netns path or `pid:N`) to a network.
   * Equivalent to: `ctnet connect NETWORK CONTAINER [--ip IP] [--ifname IF] [--mac MAC]`.
   */
  async connect(networkName: string, container: string, options: ConnectOptions = {}): Promise<AttachedEndpoint> {
    this.#requireNetwork(networkName);
    // Shared: connects run side by side, but never while the network is still being made or removed.
    return this.#withNetworkLock(networkName, 'shared', () => this.#connect(this.#requireNetwork(networkName), container, options));
  }

  async #connect(net: NetworkRecord, container: string, options: ConnectOptions): Promise<AttachedEndpoint> {
    const requested = parseRequestedIps(net, options.ips ?? []);
    if (options.ifname !== undefined) validateIfName(options.ifname);
    let mac: string;
    if (options.mac === undefined) {
      mac = formatMac(randomMac());
    } else {
      const bytes = parseMac(options.mac);
      assertUnicastMac(bytes);
      mac = formatMac(bytes);
    }
    const families = new Set(net.subnets.map((sub) => parseCidr(sub.subnet).family));
    const ports = expandPorts(options.ports ?? [], families);
    this.#checkPublishable(net, ports);
    const ref = parseNetnsRef(container);
    const containerId = options.containerId ?? container;
    const ns = Netns.open(ref);
    let inside: RtnlHandle;
    try {
      inside = ns.openHandle();
    } catch (err) {
      ns.close();
      throw err;
    }
    const ctx = this.#ctx;
    const rb = new Rollback();
    try {
      const links = inside.linkList();
      const ifname = options.ifname ?? firstFreeEthName(links.map((l) => l.name));
      if (links.some((l) => l.name === ifname)) {
        throw new ConflictError(`interface "${ifname}" already exists in container "${container}"`);
      }
      const defaultRouteFamilies = new Set(
        ([4, 6] as const).filter((f) => !inside.routeList(f).some((r) => r.dst === undefined && r.table === RT_TABLE_MAIN)),
      );
      const id = newId();
      const hostIfname = `ct${id.slice(0, 12)}`;
      const { addresses, cursors } = this.#allocate(net, { id, containerId, netns: ref.path, ifname, hostIfname, mac, ports, owner: options.owner ?? 'cli' }, requested, defaultRouteFamilies);
      rb.push('state', () => this.#release(net, id, cursors));
      await this.#step('state');
      const result = await this.#drivers[net.driver].attach(ctx, net, { netns: ns, container: inside, ifname, hostIfname, mac, addresses, publishes: ports.length > 0 }, rb);
      if (ports.length > 0) {
        const fwEp = firewallEndpoint(id, net, result.addresses, ports);
        await this.#withFirewall((f) => f.setupPorts(fwEp));
        rb.push('ports', () => this.#withFirewall((f) => f.teardownPorts(fwEp)));
        await this.#step('ports');
      }
      ensureLoopbackUp(inside);
      rb.commit();
      const saved = this.#store.getEndpointById(id);
      if (saved === undefined) throw new NotFoundError(`endpoint ${id} vanished from the state database`);
      return { ...toEndpoint(saved, net), addresses: result.addresses, routes: result.routes };
    } catch (err) {
      throw wrapError(`connect "${container}" to network "${net.name}"`, await rb.unwind(err));
    } finally {
      inside.close();
      ns.close();
    }
  }

  /**
   * Disconnect a container from a network, removing exactly what `connect` made. With `ifname`,
   * only that attachment (a runtime may attach one container more than once).
   * Equivalent to: `ctnet disconnect NETWORK CONTAINER`.
   */
  async disconnect(networkName: string, container: string, options: { ifname?: string } = {}): Promise<void> {
    const net = this.#requireNetwork(networkName);
    const ep = this.#findEndpoint(net, container, options.ifname);
    if (ep === undefined) throw new NotFoundError(`container "${container}" is not connected to network "${networkName}"`);
    try {
      if (ep.ports.length > 0) {
        const fwEp = firewallEndpoint(ep.id, net, ep.addresses, ep.ports);
        await this.#withFirewall((f) => f.teardownPorts(fwEp));
      }
      this.#drivers[net.driver].detach(this.#ctx, net, ep.hostIfname);
    } catch (err) {
      throw wrapError(`disconnect "${container}" from network "${net.name}"`, err);
    }
    this.#store.deleteEndpoint(ep.id);
  }

  /** The endpoint of a container on a network (with `ifname`: that attachment), or undefined. */
  getEndpoint(networkName: string, container: string, options: { ifname?: string } = {}): Endpoint | undefined {
    const net = this.#requireNetwork(networkName);
    const ep = this.#findEndpoint(net, container, options.ifname);
    return ep === undefined ? undefined : toEndpoint(ep, net);
  }

  #findEndpoint(net: NetworkRecord, container: string, ifname?: string): EndpointRecord | undefined {
    const byId = this.#store.getEndpoint(net.id, container, ifname);
    if (byId !== undefined || ifname !== undefined) return byId;
    // The same namespace named another way (`net1` vs `/run/netns/net1`).
    let path: string;
    try {
      path = parseNetnsRef(container).path;
    } catch {
      return undefined; // not a namespace reference at all, so nothing was connected under it
    }
    return this.#store.listEndpoints({ networkId: net.id, netns: path })[0];
  }

  /**
   * Firewall changes of concurrent ctnet processes run one at a time: a teardown reads the table
   * before it deletes, and must not interleave with another network's setup.
   */
  #withFirewall(fn: (fw: FirewallDriver) => Promise<void>): Promise<void> {
    return withFileLock(this.#firewallLock, () => fn(this.#firewall));
  }

  /** A per-network reader/writer lock across processes: create and remove exclusive, connect shared. */
  #withNetworkLock<T>(name: string, mode: 'shared' | 'exclusive', fn: () => Promise<T>): Promise<T> {
    return withFileLock(join(this.#lockDir, `network-${name}.lock`), fn, { shared: mode === 'shared' });
  }

  #requireNetwork(name: string): NetworkRecord {
    const net = this.#store.getNetwork(name);
    if (net === undefined) throw new NotFoundError(`network "${name}" not found`);
    return net;
  }

  /** Reserve addresses and record the endpoint in one transaction, so concurrent connects never share one. */
  #allocate(
    net: NetworkRecord,
    ep: Omit<EndpointRecord, 'networkId' | 'addresses' | 'created' | 'container'> & { containerId: string },
    requested: Map<4 | 6, IpAddress>,
    defaultRouteFamilies: Set<4 | 6>,
  ): { addresses: AttachAddress[]; cursors: CursorMove[] } {
    return this.#store.transaction(() => {
      // A runtime may attach a container twice with two interface names; the CLI allows one attachment.
      const existing =
        ep.owner === 'cni'
          ? this.#store.getEndpoint(net.id, ep.containerId, ep.ifname)
          : (this.#findEndpoint(net, ep.containerId) ?? this.#store.listEndpoints({ networkId: net.id, netns: ep.netns })[0]);
      if (existing !== undefined) {
        const how = ep.owner === 'cni' ? ` with interface "${ep.ifname}"` : '';
        throw new ConflictError(`container "${ep.containerId}" is already connected to network "${net.name}"${how}`);
      }
      const cursors: CursorMove[] = [];
      const out: AttachAddress[] = net.subnets.map((s) => {
        const subnet = parseCidr(s.subnet);
        const gateway = parseIp(s.gateway);
        const last = this.#store.lastAllocated(net.id, s.subnet);
        const want = requested.get(subnet.family);
        const ip = allocateAddress({
          subnet,
          gateway,
          isTaken: (c) => this.#store.isAllocated(net.id, formatIp(c)),
          ...(last === undefined ? {} : { last: parseIp(last) }),
          ...(want === undefined ? {} : { requested: want }),
        });
        if (want === undefined) {
          this.#store.setLastAllocated(net.id, s.subnet, formatIp(ip));
          cursors.push({ subnet: s.subnet, previous: last, set: formatIp(ip) });
        }
        return { ip, subnet: { family: subnet.family, value: subnet.network }, prefix: subnet.prefix, gateway, defaultRoute: defaultRouteFamilies.has(subnet.family) };
      });
      this.#store.insertEndpoint({
        id: ep.id,
        networkId: net.id,
        container: ep.containerId,
        netns: ep.netns,
        ifname: ep.ifname,
        hostIfname: ep.hostIfname,
        mac: ep.mac,
        addresses: out.map((a) => `${formatIp(a.ip)}/${a.prefix}`),
        ports: ep.ports,
        owner: ep.owner,
        created: new Date().toISOString(),
      });
      return { addresses: out, cursors };
    });
  }

  /**
   * Undo `#allocate` for a connect that failed: drop the endpoint with its addresses and put each
   * IPAM cursor back, so the next container gets the address this one would have had. A cursor
   * that another allocation has moved since is left alone.
   */
  #release(net: NetworkRecord, endpointId: string, cursors: readonly CursorMove[]): void {
    this.#store.transaction(() => {
      this.#store.deleteEndpoint(endpointId);
      for (const c of cursors) {
        if (this.#store.lastAllocated(net.id, c.subnet) !== c.set) continue;
        // There was no cursor: the network address lies outside the host range, which the
        // allocator reads as "start from the first host", the same as no cursor at all.
        const subnet = parseCidr(c.subnet);
        this.#store.setLastAllocated(net.id, c.subnet, c.previous ?? formatIp({ family: subnet.family, value: subnet.network }));
      }
    });
  }

  /** Refuse a name, bridge or subnet that another ctnet network already has. */
  #checkStateConflicts(plan: NetworkPlan): void {
    for (const other of this.#store.listNetworks()) {
      if (other.name === plan.name) throw new ConflictError(`network "${plan.name}" already exists`);
      if (plan.bridge !== null && other.bridge === plan.bridge) {
        throw new ConflictError(`bridge "${plan.bridge}" is already used by network "${other.name}"`);
      }
      for (const mine of plan.subnets) {
        for (const theirs of other.subnets) {
          if (cidrOverlaps(mine.cidr, parseCidr(theirs.subnet))) {
            throw new ConflictError(`subnet "${formatCidr(mine.cidr)}" overlaps subnet "${theirs.subnet}" of network "${other.name}"`);
          }
        }
      }
    }
  }

  /** Refuse ports that cannot be published: an internal network, a foreign host address, a bound socket. */
  #checkPublishable(net: NetworkRecord, ports: readonly PortRecord[]): void {
    const [first] = ports;
    if (first === undefined) return;
    if (net.internal) throw new InvalidConfigError(`cannot publish port ${describePort(first)}: network "${net.name}" is internal`);
    // Published ports match `fib daddr type local`, so an address is usable exactly when a local
    // route covers it (127.0.0.0/8 does for every loopback address, not only 127.0.0.1).
    const host = this.#ctx.host;
    const localRoutes = ([4, 6] as const).flatMap((f) => host.routeList(f)).filter((r) => r.type === RTN_LOCAL && r.dst !== undefined);
    // A range repeats one address for every port: look each address up once.
    const local = new Map<string, boolean>();
    const isLocal = (ip: string): boolean => {
      let known = local.get(ip);
      if (known === undefined) {
        const addr = parseIp(ip);
        known = localRoutes.some((r) => r.dst !== undefined && cidrContains({ family: r.family, network: r.dst.ip.value, prefix: r.dst.prefix }, addr));
        local.set(ip, known);
      }
      return known;
    };
    const foreign = ports.find((p) => p.hostIp !== null && !isLocal(p.hostIp));
    if (foreign !== undefined) throw new InvalidConfigError(`cannot publish port ${describePort(foreign)}: ${foreign.hostIp ?? ''} is not an address of this host`);
    const sockets = indexSockets(hostSockets(new Set(ports.map((p) => p.protocol))));
    for (const port of ports) {
      if (boundSocketFor(port, sockets) !== undefined) {
        throw new ConflictError(`port ${describePort(port)} is already in use on the host by a listening socket`);
      }
    }
  }

  /** Refuse subnets the host already routes and bridge names an interface already has. */
  #checkHostConflicts(host: RtnlHandle, bridge: string | null, cidrs: readonly ReturnType<typeof parseCidr>[], name: string): void {
    if (bridge !== null && host.linkGet(bridge) !== undefined) {
      const owner = this.#store.listNetworks().find((n) => n.bridge === bridge);
      throw new ConflictError(
        owner === undefined
          ? `bridge name "${bridge}" is already used by an existing interface`
          : `bridge "${bridge}" is already used by network "${owner.name}"`,
      );
    }
    for (const cidr of cidrs) {
      for (const route of host.routeList(cidr.family)) {
        // The default route overlaps everything and says nothing about the subnet being in use.
        if (route.table !== RT_TABLE_MAIN || route.dst === undefined || route.dst.prefix === 0) continue;
        const routed = { family: route.family, network: route.dst.ip.value, prefix: route.dst.prefix };
        if (cidrOverlaps(cidr, routed)) {
          throw new ConflictError(`subnet "${formatCidr(cidr)}" of network "${name}" overlaps the host route ${formatIp(route.dst.ip)}/${route.dst.prefix}`);
        }
      }
    }
  }

  #enableForwarding(net: NetworkRecord): void {
    const families = new Set(net.subnets.map((s) => parseCidr(s.subnet).family));
    if (families.has(4)) writeSysctl('net/ipv4/ip_forward', '1');
    if (families.has(6)) writeSysctl('net/ipv6/conf/all/forwarding', '1');
  }
}

/** What the firewall needs to publish an endpoint's ports: each port with its container address. */
function firewallEndpoint(id: string, net: NetworkRecord, addresses: readonly string[], ports: readonly PortRecord[]): FirewallEndpoint {
  const byFamily = new Map(addresses.map((a) => {
    const ip = parseIp(withoutPrefix(a));
    return [ip.family, formatIp(ip)] as const;
  }));
  return {
    id,
    networkId: net.id,
    ports: ports.map((p) => {
      const containerIp = byFamily.get(p.family);
      if (containerIp === undefined) throw new TypeError(`endpoint ${id} has no IPv${p.family} address for port ${p.hostPort}`);
      const mapping: PortMapping = { family: p.family, protocol: p.protocol, hostPort: p.hostPort, containerIp, containerPort: p.containerPort };
      // Set only when there is one (exactOptionalPropertyTypes); no object spread per port.
      if (p.hostIp !== null) mapping.hostIp = p.hostIp;
      return mapping;
    }),
  };
}

function parseRequestedIps(net: NetworkRecord, ips: readonly string[]): Map<4 | 6, IpAddress> {
  const out = new Map<4 | 6, IpAddress>();
  for (const text of ips) {
    const ip = parseIp(text);
    if (out.has(ip.family)) throw new InvalidConfigError(`more than one IPv${ip.family} address requested: "${text}"`);
    if (!net.subnets.some((s) => parseCidr(s.subnet).family === ip.family)) {
      throw new InvalidConfigError(`address "${text}" is not in any subnet of network "${net.name}" (${net.subnets.map((s) => s.subnet).join(', ')})`);
    }
    out.set(ip.family, ip);
  }
  return out;
}

/** An IPAM cursor that `#allocate` moved: where it was, and where it put it. */
interface CursorMove {
  subnet: string;
  previous: string | undefined;
  set: string;
}

/** eth0 for a container's first network, then eth1, eth2, ... */
export function firstFreeEthName(existing: readonly string[]): string {
  const names = new Set(existing);
  for (let i = 0; ; i++) if (!names.has(`eth${i}`)) return `eth${i}`;
}

function toNetwork(rec: NetworkRecord): Network {
  return { ...rec, subnets: rec.subnets.map((s) => ({ ...s })) };
}

function toEndpoint(rec: EndpointRecord, net: NetworkRecord): Endpoint {
  return {
    id: rec.id,
    network: net.name,
    container: rec.container,
    netns: rec.netns,
    ifname: rec.ifname,
    hostIfname: rec.hostIfname,
    mac: rec.mac,
    addresses: rec.addresses,
    gateways: net.subnets.map((s) => s.gateway),
    ports: rec.ports,
    owner: rec.owner,
    created: rec.created,
  };
}
