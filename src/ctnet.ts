/**
 * The engine: networks and endpoints, kept in the state database and made real in the kernel.
 * Every change validates all input first, then applies its steps with an undo for each, so a failure
 * at any step leaves nothing behind. The CLI and the CNI plugin are thin edges over this class.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { ConflictError, errorMessage, InvalidConfigError, NotFoundError, StateError, TeardownError, wrapError } from './errors.js';
import type { FirewallDriver, FirewallEndpoint, FirewallNetwork, PortMapping } from './firewall/driver.js';
import { NftFirewallDriver } from './firewall/nft/nft-driver.js';
import { cidrOverlaps, formatCidr, parseCidr, withoutPrefix } from './inet/cidr.js';
import { formatIp, type IpAddress, parseIp } from './inet/ip.js';
import { assertUnicastMac, formatMac, parseMac, randomMac } from './inet/mac.js';
import { type CursorMove, pickAddresses, restoreCursors } from './ipam/pool.js';
import { IFF_LOOPBACK, RT_TABLE_MAIN } from './netlink/constants.js';
import { RtnlHandle } from './netlink/rtnl/handle.js';
import { deleteNamedNetns, Netns, type NetnsRef, parseNetnsRef, readSysctl, readSysctlIfPresent, sysctlName, writeSysctl } from './netns/netns.js';
import { type NetworkPlan, planNetwork, subnetRecords } from './network/config.js';
import type { AttachAddress, DriverContext, HostEnd, HostSysctl } from './network/driver.js';
import { boundSocketFor, hostSockets, indexSockets, localAddressTest, overlappingRoute } from './network/host-probes.js';
import { expandPorts } from './network/ports.js';
import { DriverRegistry } from './network/drivers.js';
import { LinkOwnership } from './network/ownership.js';
import { Rollback } from './network/rollback.js';
import { ensureLoopbackUp } from './network/veth.js';
import type { AttachedEndpoint, ConnectOptions, Endpoint, Network, NetworkSpec, SysctlChange, SysctlState } from './network/types.js';
import type { EndpointOwner, EndpointRecord, NetworkRecord, PortRecord } from './state/records.js';
import { withFileLock } from './state/file-lock.js';
import { DEFAULT_LOCK_TIMEOUT_MS, describePort, STATE_DB_FILE, StateStore } from './state/store.js';
import { assertAbsoluteStateDir } from './state/trust.js';
import { validateIfName, validateNetnsName, validateNetworkName } from './validate/names.js';

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
  /** How long to wait for another process's lock (the database, a network, the firewall); default 30 s. */
  lockTimeoutMs?: number;
  /** Called for every host sysctl ctnet changes, right after the change. */
  onSysctlChange?: (change: SysctlChange) => void;
}

/** Which attachments a lookup may find: the CLI's (by namespace) or a CNI runtime's (by container id). */
export interface EndpointSelector {
  /** Only the attachment with this interface name inside the container. */
  ifname?: string;
  /** Who made it; default `cli`. A CNI attachment is found by its container id only. */
  owner?: EndpointOwner;
}

/**
 * What the engine announces after a change has fully succeeded, for the parts that follow it
 * (the agent's DNS names, the overlay's routes) instead of code inside the engine's own steps.
 */
export interface CtnetEvents {
  'network-created': [network: Network];
  'network-removed': [network: Network];
  'endpoint-connected': [endpoint: Endpoint];
  'endpoint-disconnected': [endpoint: Endpoint];
}

/** A network with its endpoints, as `inspectNetwork` returns it. */
export interface NetworkDetails extends Network {
  endpoints: Endpoint[];
  /** The host sysctls the network relies on, with their values now. */
  sysctls: SysctlState[];
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
  readonly #onSysctlChange: ((change: SysctlChange) => void) | undefined;
  readonly #drivers = new DriverRegistry();
  readonly #links: LinkOwnership;
  readonly #dbPath: string;
  readonly #lockTimeoutMs: number;
  #host: RtnlHandle | undefined;
  #closed = false;
  readonly #events = new EventEmitter<CtnetEvents>();

  private constructor(store: StateStore, stateDir: string, options: CtnetOptions) {
    this.#store = store;
    this.#links = new LinkOwnership(stateDir);
    this.#dbPath = join(stateDir, STATE_DB_FILE);
    this.#lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.#firewallLock = join(stateDir, 'firewall.lock');
    this.#lockDir = join(stateDir, 'locks');
    mkdirSync(this.#lockDir, { recursive: true, mode: 0o700 });
    this.#firewall = options.firewall ?? new NftFirewallDriver();
    this.#onStep = options.onStep;
    this.#onSysctlChange = options.onSysctlChange;
  }

  /**
   * Open the engine on a state directory (absolute; created 0700 if missing, refused when another
   * user could write to it).
   */
  static open(options: CtnetOptions = {}): Ctnet {
    const dir = options.stateDir ?? process.env['CTNET_STATE_DIR'] ?? DEFAULT_STATE_DIR;
    assertAbsoluteStateDir(dir);
    return new Ctnet(StateStore.open(dir, options.lockTimeoutMs === undefined ? {} : { busyTimeoutMs: options.lockTimeoutMs }), dir, options);
  }

  /** Release the database, sockets and handles. The engine refuses every call afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host?.close();
    this.#host = undefined;
    this.#firewall.close?.();
    this.#store.close();
  }

  /**
   * Subscribe to the engine's changes (see {@link CtnetEvents}). Listeners run after the change
   * has succeeded and cannot fail it: what one throws is logged and dropped.
   * @example
   * ct.on('endpoint-connected', (ep) => console.log(ep.container, ep.addresses));
   */
  on<K extends keyof CtnetEvents>(event: K, listener: (...args: CtnetEvents[K]) => void): this {
    this.#events.on(event, listener as never);
    return this;
  }

  /** Stop one subscription made with {@link on}. */
  off<K extends keyof CtnetEvents>(event: K, listener: (...args: CtnetEvents[K]) => void): this {
    this.#events.off(event, listener as never);
    return this;
  }

  #emit<K extends keyof CtnetEvents>(event: K, ...args: CtnetEvents[K]): void {
    for (const listener of this.#events.listeners(event)) {
      try {
        (listener as (...a: CtnetEvents[K]) => void)(...args);
      } catch (err) {
        debug('listener of %s failed: %s', event, errorMessage(err));
      }
    }
  }

  /** Refuse a call on a closed engine with a clear error instead of SQLite's own. */
  #live(): void {
    if (this.#closed) throw new StateError('this Ctnet engine is closed; open another with Ctnet.open()');
  }

  get #ctx(): DriverContext {
    this.#host ??= RtnlHandle.open();
    return { host: this.#host, links: this.#links, step: (name) => this.#step(name), sysctl: (sysctl) => { this.#setSysctl(sysctl, true); } };
  }

  async #step(name: string): Promise<void> {
    debug('step %s', name);
    await this.#onStep?.(name);
  }

  /** Create a network. Equivalent to: `ctnet network create NAME --subnet CIDR ...`. */
  async createNetwork(spec: NetworkSpec): Promise<Network> {
    this.#live();
    const id = newId();
    const plan = planNetwork(spec, id);
    // Exclusive until the bridge and firewall exist: a connect arriving meanwhile waits for them.
    return this.#withNetworkLock(plan.name, 'exclusive', () => this.#createNetwork(plan, id));
  }

  async #createNetwork(plan: NetworkPlan, id: string): Promise<Network> {
    const ctx = this.#ctx;
    // A network of this name that is not ready is what a killed create or remove left: finish
    // removing it, then create the network anew. Nobody else works on it: we hold its lock.
    const leftover = this.#store.getNetwork(plan.name);
    if (leftover !== undefined && leftover.status !== 'ready') await this.#removeNetworkRecord(leftover);
    this.#checkForgottenLinks(ctx.host);
    const record: NetworkRecord = {
      id,
      name: plan.name,
      driver: plan.driver,
      bridge: plan.bridge,
      mtu: plan.mtu,
      nat: plan.nat,
      internal: plan.internal,
      subnets: subnetRecords(plan),
      status: 'creating',
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
      await this.#realiseNetwork(record, rb);
      this.#store.setNetworkStatus(id, 'ready');
      rb.commit();
    } catch (err) {
      throw wrapError(`create network "${record.name}"`, await rb.unwind(err));
    }
    const network = toNetwork({ ...record, status: 'ready' });
    this.#emit('network-created', network);
    return network;
  }

  /** Make (or finish) every kernel object of a network: driver objects, forwarding, firewall. */
  async #realiseNetwork(net: NetworkRecord, rb: Rollback): Promise<void> {
    await this.#drivers.of(net).setup(this.#ctx, net, rb);
    if (!net.internal) this.#enableForwarding(net);
    await this.#step('forwarding');
    const fw = firewallNetwork(net);
    await this.#withFirewall((f) => f.setupNetwork(fw));
    rb.push('firewall', () => this.#withFirewall((f) => f.teardownNetwork(fw)));
    await this.#step('firewall');
  }

  /** Remove a network that has no endpoints. Equivalent to: `ctnet network rm NAME`. */
  async removeNetwork(name: string): Promise<void> {
    this.#live();
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
      return found;
    });
    await this.#removeNetworkRecord(net);
  }

  /**
   * Take down a network's kernel objects, then forget it. The record is marked `removing` first
   * and deleted last, so a remove killed or failed at any point leaves a record that the next
   * `network rm` (or `create` of the name) finishes with.
   */
  async #removeNetworkRecord(net: NetworkRecord): Promise<void> {
    this.#store.setNetworkStatus(net.id, 'removing');
    await this.#step('removing');
    const failures: unknown[] = [];
    try {
      await this.#withFirewall((f) => f.teardownNetwork(firewallNetwork(net)));
    } catch (err) {
      failures.push(err);
    }
    await this.#step('firewall-removed');
    try {
      await this.#drivers.of(net).teardown(this.#ctx, net);
    } catch (err) {
      failures.push(err);
    }
    if (failures.length > 0) throw TeardownError.summarize(`remove network "${net.name}"`, failures);
    this.#store.deleteNetwork(net.id);
    this.#emit('network-removed', toNetwork(net));
  }

  /**
   * What a network's kernel side lacks, one line per problem (empty: complete): its driver objects
   * (bridge, gateway addresses), forwarding, and every firewall chain and element. Only reads.
   */
  async checkNetwork(name: string): Promise<string[]> {
    this.#live();
    const net = this.#requireNetwork(name);
    const problems = net.status === 'ready' ? [] : [`network "${name}" is half-made (${net.status})`];
    problems.push(...this.#drivers.of(net).check(this.#ctx, net), ...this.#forwardingProblems(net));
    problems.push(...(await this.#firewall.checkNetwork(firewallNetwork(net))));
    return problems;
  }

  /**
   * What one endpoint lacks on the host side, one line per problem (empty: complete): its host
   * interface and its published ports. Only reads.
   */
  async checkEndpoint(networkName: string, container: string, selector: EndpointSelector = {}): Promise<string[]> {
    this.#live();
    const net = this.#requireNetwork(networkName);
    const ep = this.#findEndpoint(net, container, selector);
    if (ep === undefined) return [`container "${container}" is not connected to network "${networkName}"`];
    const problems = ep.status === 'ready' ? [] : [`the attachment of "${container}" is half-made (${ep.status})`];
    problems.push(...this.#drivers.of(net).checkAttachment(this.#ctx, net, ep));
    if (ep.ports.length > 0) problems.push(...(await this.#firewall.checkPorts(firewallEndpoint(ep.id, net, ep.addresses, ep.ports))));
    return problems;
  }

  /**
   * Cheap enough for every connect: whether the network is ready and its bridge, gateway
   * addresses, forwarding and firewall chains are there.
   */
  async #looksComplete(net: NetworkRecord): Promise<boolean> {
    if (net.status !== 'ready') return false;
    if (this.#drivers.of(net).check(this.#ctx, net).length > 0 || this.#forwardingProblems(net).length > 0) return false;
    return this.#firewall.networkPresent(firewallNetwork(net));
  }

  /**
   * Finish a network whose kernel side is incomplete: a create that was killed, or a bridge or
   * firewall table someone else removed. Nothing it makes is undone on failure: the next call
   * goes on from there.
   */
  async #completeNetwork(name: string): Promise<void> {
    await this.#withNetworkLock(name, 'exclusive', async () => {
      const net = this.#requireNetwork(name);
      if (net.status === 'removing') throw new NotFoundError(`network "${name}" is being removed; run "ctnet network rm ${name}" to finish`);
      // Another process may have been making it while we waited for the lock.
      if (await this.#looksComplete(net)) return;
      debug('completing network %s', name);
      const rb = new Rollback();
      await this.#realiseNetwork(net, rb);
      rb.commit();
      // A lost table took the published ports with it; putting back what is there changes nothing.
      for (const ep of this.#store.listEndpoints({ networkId: net.id })) {
        if (ep.ports.length === 0) continue;
        const fwEp = firewallEndpoint(ep.id, net, ep.addresses, ep.ports);
        await this.#withFirewall((f) => f.setupPorts(fwEp));
      }
      if (net.status !== 'ready') this.#store.setNetworkStatus(net.id, 'ready');
    });
  }

  /** Every network, by name. Equivalent to: `ctnet network ls`. */
  listNetworks(): Network[] {
    this.#live();
    return this.#store.listNetworks().map(toNetwork);
  }

  /** One network with its endpoints. Equivalent to: `ctnet network inspect NAME`. */
  inspectNetwork(name: string): NetworkDetails {
    this.#live();
    const net = this.#requireNetwork(name);
    const endpoints = this.#store.listEndpoints({ networkId: net.id });
    return { ...toNetwork(net), endpoints: endpoints.map((e) => toEndpoint(e, net)), sysctls: this.#sysctlStates(net, endpoints) };
  }

  /** Every endpoint on every network. Equivalent to: `ctnet ls`. */
  listEndpoints(): Endpoint[] {
    this.#live();
    const nets = new Map(this.#store.listNetworks().map((n) => [n.id, n]));
    return this.#store.listEndpoints().flatMap((e) => {
      const net = nets.get(e.networkId);
      return net === undefined ? [] : [toEndpoint(e, net)];
    });
  }

  /**
   * Delete a named namespace, as `ip netns del` does, unless something is connected to it: its
   * endpoints and published ports would stay recorded and keep their addresses and host ports.
   * With `force`, every attachment of the namespace (the CLI's and runtimes') is disconnected first.
   * Equivalent to: `ctnet netns del NAME [--force]`.
   * @throws {ConflictError} when the namespace is connected and `force` is not set
   */
  async deleteNetns(name: string, options: { force?: boolean } = {}): Promise<void> {
    this.#live();
    validateNetnsName(name);
    const ref = parseNetnsRef(name);
    const identity = netnsIdentityOf(ref);
    const byId = identity === undefined ? [] : this.#store.listEndpoints({ netnsId: identity });
    const attached = [...byId, ...this.#store.listEndpoints({ netns: ref.path }).filter((e) => !byId.some((b) => b.id === e.id))];
    if (attached.length > 0) {
      const nets = new Map(this.#store.listNetworks().map((n) => [n.id, n.name]));
      if (options.force !== true) {
        const where = [...new Set(attached.map((e) => `"${nets.get(e.networkId) ?? e.networkId}"`))].join(', ');
        throw new ConflictError(`network namespace "${name}" is connected to network ${where}; disconnect it first, or delete it with --force`);
      }
      for (const e of attached) {
        await this.disconnect(nets.get(e.networkId) ?? '', e.container, { owner: e.owner, ifname: e.ifname });
      }
    }
    deleteNamedNetns(name);
  }

  /**
   * Connect a container (named netns, netns path or `pid:N`) to a network.
   * Equivalent to: `ctnet connect NETWORK CONTAINER [--ip IP] [--ifname IF] [--mac MAC]`.
   */
  async connect(networkName: string, container: string, options: ConnectOptions = {}): Promise<AttachedEndpoint> {
    this.#live();
    const found = this.#requireNetwork(networkName);
    if (!(await this.#looksComplete(found))) await this.#completeNetwork(networkName);
    // Shared: connects run side by side, but never while the network is still being made or removed.
    return this.#withNetworkLock(networkName, 'shared', () => {
      const net = this.#requireNetwork(networkName);
      if (net.status !== 'ready') throw new NotFoundError(`network "${networkName}" is ${net.status === 'removing' ? 'being removed' : 'not ready'}`);
      return this.#connect(net, container, options);
    });
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
    const ns = Netns.openContainer(ref);
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
      const hostIfname = this.#links.pendingName(id);
      const owner = options.owner ?? 'cli';
      const { addresses, cursors } = this.#allocate(net, { id, containerId, netns: ref.path, netnsId: ns.identity, ifname, hostIfname, mac, ports, owner }, requested, defaultRouteFamilies);
      rb.push('state', () => { this.#release(net, id, cursors); });
      await this.#step('state');
      const result = await this.#drivers.of(net).attach(ctx, net, { id, netns: ns, container: inside, ifname, hostIfname, mac, addresses, publishes: ports.length > 0 }, rb);
      if (ports.length > 0) {
        const fwEp = firewallEndpoint(id, net, result.addresses, ports);
        await this.#withFirewall((f) => f.setupPorts(fwEp));
        rb.push('ports', () => this.#withFirewall((f) => f.teardownPorts(fwEp)));
        await this.#step('ports');
      }
      ensureLoopbackUp(inside);
      this.#store.setEndpointStatus(id, 'ready');
      rb.commit();
      const saved = this.#store.getEndpointById(id);
      if (saved === undefined) throw new NotFoundError(`endpoint ${id} vanished from the state database`);
      const endpoint = toEndpoint(saved, net);
      this.#emit('endpoint-connected', endpoint);
      return { ...endpoint, routes: result.routes };
    } catch (err) {
      throw wrapError(`connect "${container}" to network "${net.name}"`, await rb.unwind(err));
    } finally {
      inside.close();
      ns.close();
    }
  }

  /**
   * Disconnect a container from a network, removing exactly what `connect` made. With `ifname`,
   * only that attachment (a runtime may attach one container more than once). Only attachments of
   * `owner` (default: the CLI's) are found.
   * Equivalent to: `ctnet disconnect NETWORK CONTAINER`.
   */
  async disconnect(networkName: string, container: string, selector: EndpointSelector = {}): Promise<void> {
    this.#live();
    const net = this.#requireNetwork(networkName);
    const ep = this.#findEndpoint(net, container, selector);
    if (ep === undefined) throw new NotFoundError(`container "${container}" is not connected to network "${networkName}"`);
    // A write before any change: a database another process keeps locked fails here, with
    // nothing done; a disconnect killed after this leaves a record the next one finishes.
    this.#store.setEndpointStatus(ep.id, 'removing');
    try {
      if (ep.ports.length > 0) {
        const fwEp = firewallEndpoint(ep.id, net, ep.addresses, ep.ports);
        await this.#withFirewall((f) => f.teardownPorts(fwEp));
      }
      await this.#drivers.of(net).detach(this.#ctx, net, ep);
    } catch (err) {
      throw wrapError(`disconnect "${container}" from network "${net.name}"`, err);
    }
    this.#store.deleteEndpoint(ep.id);
    this.#emit('endpoint-disconnected', toEndpoint(ep, net));
  }

  /** The endpoint of a container on a network (with `ifname`: that attachment), or undefined. */
  getEndpoint(networkName: string, container: string, selector: EndpointSelector = {}): Endpoint | undefined {
    this.#live();
    const net = this.#requireNetwork(networkName);
    const ep = this.#findEndpoint(net, container, selector);
    return ep === undefined ? undefined : toEndpoint(ep, net);
  }

  /**
   * A CNI attachment is found by the runtime's container id (and interface) alone. A CLI one by the
   * name it was given, else by its namespace, however named now: the same device and inode, or
   * (for records from before identities were kept) the same path.
   */
  #findEndpoint(net: NetworkRecord, container: string, selector: EndpointSelector): EndpointRecord | undefined {
    const owner = selector.owner ?? 'cli';
    const ifname = selector.ifname;
    const byName = this.#store.getEndpoint(net.id, { owner, container, ...(ifname === undefined ? {} : { ifname }) });
    if (byName !== undefined || owner === 'cni') return byName;
    let ref: NetnsRef;
    try {
      ref = parseNetnsRef(container);
    } catch {
      return undefined; // not a namespace reference at all, so nothing was connected under it
    }
    const matches = (e: EndpointRecord): boolean => ifname === undefined || e.ifname === ifname;
    const identity = netnsIdentityOf(ref);
    const same = identity === undefined ? undefined : this.#store.listEndpoints({ networkId: net.id, owner, netnsId: identity }).find(matches);
    return same ?? this.#store.listEndpoints({ networkId: net.id, owner, netns: ref.path }).find(matches);
  }

  /**
   * Firewall changes of concurrent ctnet processes run one at a time: a teardown reads the table
   * before it deletes, and must not interleave with another network's setup.
   */
  #withFirewall(fn: (fw: FirewallDriver) => Promise<void>): Promise<void> {
    return withFileLock(this.#firewallLock, () => fn(this.#firewall), { timeoutMs: this.#lockTimeoutMs });
  }

  /** A per-network reader/writer lock across processes: create and remove exclusive, connect shared. */
  #withNetworkLock<T>(name: string, mode: 'shared' | 'exclusive', fn: () => Promise<T>): Promise<T> {
    return withFileLock(join(this.#lockDir, `network-${name}.lock`), fn, { shared: mode === 'shared', timeoutMs: this.#lockTimeoutMs });
  }

  #requireNetwork(name: string): NetworkRecord {
    const net = this.#store.getNetwork(name);
    if (net === undefined) throw new NotFoundError(`network "${name}" not found`);
    return net;
  }

  /** Reserve addresses and record the endpoint in one transaction, so concurrent connects never share one. */
  #allocate(
    net: NetworkRecord,
    ep: Omit<EndpointRecord, 'networkId' | 'addresses' | 'created' | 'container' | 'status'> & { containerId: string },
    requested: Map<4 | 6, IpAddress>,
    defaultRouteFamilies: Set<4 | 6>,
  ): { addresses: AttachAddress[]; cursors: CursorMove[] } {
    return this.#store.transaction(() => {
      // A runtime may attach a container twice with two interface names; the CLI allows one attachment.
      const existing =
        ep.owner === 'cni'
          ? this.#store.getEndpoint(net.id, { owner: 'cni', container: ep.containerId, ifname: ep.ifname })
          : (this.#store.getEndpoint(net.id, { owner: 'cli', container: ep.containerId }) ??
            this.#store.listEndpoints({ networkId: net.id, owner: 'cli', netnsId: ep.netnsId })[0] ??
            this.#store.listEndpoints({ networkId: net.id, owner: 'cli', netns: ep.netns })[0]);
      if (existing !== undefined) {
        const how = ep.owner === 'cni' ? ` with interface "${ep.ifname}"` : '';
        throw new ConflictError(`container "${ep.containerId}" is already connected to network "${net.name}"${how}`);
      }
      const { picked, cursors } = pickAddresses(this.#store, net.id, net.subnets, requested);
      const out = picked.map(({ ip, subnet, gateway }): AttachAddress => ({
        ip,
        subnet: { family: subnet.family, value: subnet.network },
        prefix: subnet.prefix,
        gateway,
        defaultRoute: defaultRouteFamilies.has(subnet.family),
      }));
      this.#store.insertEndpoint({
        id: ep.id,
        networkId: net.id,
        container: ep.containerId,
        netns: ep.netns,
        netnsId: ep.netnsId,
        ifname: ep.ifname,
        hostIfname: ep.hostIfname,
        mac: ep.mac,
        addresses: out.map((a) => `${formatIp(a.ip)}/${this.#drivers.of(net).interfacePrefix(a.ip.family, a.prefix)}`),
        ports: ep.ports,
        owner: ep.owner,
        status: 'creating',
        created: new Date().toISOString(),
      });
      return { addresses: out, cursors };
    });
  }

  /** Undo `#allocate` for a connect that failed: drop the endpoint with its addresses, put the cursors back. */
  #release(net: NetworkRecord, endpointId: string, cursors: readonly CursorMove[]): void {
    this.#store.transaction(() => {
      this.#store.deleteEndpoint(endpointId);
      restoreCursors(this.#store, net.id, cursors);
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
    const isLocal = localAddressTest(this.#ctx.host);
    const foreign = ports.find((p) => p.hostIp !== null && !isLocal(p.hostIp));
    if (foreign !== undefined) throw new InvalidConfigError(`cannot publish port ${describePort(foreign)}: ${foreign.hostIp ?? ''} is not an address of this host`);
    const sockets = indexSockets(hostSockets(new Set(ports.map((p) => p.protocol))));
    for (const port of ports) {
      if (boundSocketFor(port, sockets) !== undefined) {
        throw new ConflictError(`port ${describePort(port)} is already in use on the host by a listening socket`);
      }
    }
  }

  /**
   * Refuse to start afresh over kernel objects this state directory made. A database that holds no
   * network while links carry this state directory's mark has been deleted or replaced: creating
   * networks now would collide with them (names, routes, firewall) and leave them orphaned for good.
   */
  #checkForgottenLinks(host: RtnlHandle): void {
    if (!this.#store.isEmpty()) return;
    const forgotten = host.linkList().filter((l) => this.#links.idOf(l) !== undefined);
    if (forgotten.length === 0) return;
    throw new StateError(
      `the state database ${this.#dbPath} holds no networks, but ${forgotten.length} interface(s) that ctnet made with this state directory exist: ` +
        `${forgotten.map((l) => l.name).join(', ')}; the database was deleted or replaced. Restore it, or delete those interfaces (ip link del NAME) before creating networks`,
    );
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
      const route = overlappingRoute(host, cidr);
      if (route?.dst !== undefined) {
        throw new ConflictError(`subnet "${formatCidr(cidr)}" of network "${name}" overlaps the host route ${formatIp(route.dst.ip)}/${route.dst.prefix}`);
      }
    }
  }

  /**
   * Turn on forwarding for the network's families. Before IPv6 forwarding goes on, every host
   * interface that takes router advertisements is set to keep taking them (see
   * `#keepRouterAdvertisements`).
   */
  #enableForwarding(net: NetworkRecord): void {
    for (const sysctl of forwardingSysctls(net)) {
      if (readSysctl(sysctl.key) === sysctl.value) continue;
      if (sysctl.key === IPV6_FORWARDING) this.#keepRouterAdvertisements();
      this.#setSysctl(sysctl, false);
    }
  }

  /**
   * With IPv6 forwarding on, the kernel processes router advertisements only on interfaces whose
   * accept_ra is 2, and turning forwarding on drops the default routes RAs gave all others: a host
   * that takes its IPv6 address and default route from RAs (SLAAC) would lose them. So, as Docker
   * does, accept_ra goes from 1 to 2 on the host's interfaces first. ctnet's own links keep 1:
   * containers must not configure the host with RAs. Loopback never receives any.
   */
  #keepRouterAdvertisements(): void {
    for (const { name, key } of this.#acceptRaSysctls()) {
      if (readSysctlIfPresent(key) !== '1') continue;
      try {
        this.#setSysctl({ key, value: '2', why: `${name} keeps processing router advertisements with IPv6 forwarding on` }, false);
      } catch (err) {
        // The interface went away since the listing: nothing of it is left to keep.
        if (readSysctlIfPresent(key) !== undefined) throw err;
      }
    }
  }

  /** accept_ra of each host interface: every link but loopback (it never receives RAs) and ctnet's own. */
  #acceptRaSysctls(): { name: string; key: string }[] {
    return this.#ctx.host
      .linkList()
      .filter((link) => (link.flags & IFF_LOOPBACK) === 0 && !LinkOwnership.madeByCtnet(link))
      .map((link) => ({ name: link.name, key: `net/ipv6/conf/${link.name}/accept_ra` }));
  }

  /** Set a host sysctl unless it has the value already, and report the change. */
  #setSysctl(sysctl: HostSysctl, ownLink: boolean): void {
    const previous = readSysctlIfPresent(sysctl.key) ?? null;
    if (previous === sysctl.value) return;
    writeSysctl(sysctl.key, sysctl.value);
    const change: SysctlChange = { key: sysctlName(sysctl.key), previous, value: sysctl.value, why: sysctl.why, ownLink };
    debug('sysctl %s=%s (was %s): %s', change.key, change.value, previous ?? 'unreadable', change.why);
    this.#onSysctlChange?.(change);
  }

  #forwardingProblems(net: NetworkRecord): string[] {
    if (net.internal) return [];
    return forwardingSysctls(net)
      .filter((sysctl) => readSysctl(sysctl.key) !== sysctl.value)
      .map((sysctl) => `forwarding is off (${sysctlName(sysctl.key)} is not ${sysctl.value})`);
  }

  /**
   * The sysctls a network relies on, with their values now: forwarding, those of its own links,
   * and, where it needs IPv6 forwarding, accept_ra of every host interface that takes router
   * advertisements.
   */
  #sysctlStates(net: NetworkRecord, endpoints: readonly EndpointRecord[]): SysctlState[] {
    const hostEnds: HostEnd[] = endpoints.map((e) => ({
      hostIfname: e.hostIfname,
      families: e.addresses.map((a) => parseIp(withoutPrefix(a)).family),
      publishes: e.ports.length > 0,
    }));
    const forwarding = net.internal ? [] : forwardingSysctls(net);
    const wanted = [...forwarding, ...this.#drivers.of(net).sysctls(net, hostEnds)];
    if (forwarding.some((s) => s.key === IPV6_FORWARDING)) {
      for (const { name, key } of this.#acceptRaSysctls()) {
        const value = readSysctlIfPresent(key);
        if (value === '1' || value === '2') wanted.push({ key, value: '2', why: `${name} processes router advertisements with IPv6 forwarding on only with 2` });
      }
    }
    return wanted.map((s) => ({ key: sysctlName(s.key), value: readSysctlIfPresent(s.key) ?? null, want: s.value, why: s.why }));
  }

  /**
   * Run `fn` with an engine opened with `options` (as {@link Ctnet.open}), closed afterwards
   * whatever happens.
   * @example
   * ```ts
   * const names = await Ctnet.using({}, (ct) => ct.listNetworks().map((n) => n.name));
   * ```
   */
  static async using<T>(options: CtnetOptions, fn: (ct: Ctnet) => Promise<T> | T): Promise<T> {
    const ct = Ctnet.open(options);
    try {
      return await fn(ct);
    } finally {
      ct.close();
    }
  }
}

const IPV6_FORWARDING = 'net/ipv6/conf/all/forwarding';

/** The sysctls that make the host forward a network's families. */
function forwardingSysctls(net: NetworkRecord): HostSysctl[] {
  const families = new Set(net.subnets.map((s) => parseCidr(s.subnet).family));
  return [
    ...(families.has(4) ? [{ key: 'net/ipv4/ip_forward', value: '1', why: 'the host forwards the IPv4 traffic of its networks' }] : []),
    ...(families.has(6) ? [{ key: IPV6_FORWARDING, value: '1', why: 'the host forwards the IPv6 traffic of its networks' }] : []),
  ];
}

/** The identity of the namespace a reference names, or undefined when there is none. */
function netnsIdentityOf(ref: NetnsRef): string | undefined {
  let ns: Netns;
  try {
    ns = Netns.open(ref);
  } catch {
    return undefined;
  }
  ns.close();
  return ns.identity;
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
    netnsId: rec.netnsId,
    ifname: rec.ifname,
    hostIfname: rec.hostIfname,
    mac: rec.mac,
    addresses: rec.addresses,
    gateways: net.subnets.map((s) => s.gateway),
    ports: rec.ports,
    owner: rec.owner,
    status: rec.status,
    created: rec.created,
  };
}
