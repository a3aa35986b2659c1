/**
 * The engine: networks and endpoints, kept in the state database and made real in the kernel.
 * Every change validates all input first, then applies its steps with an undo for each, so a failure
 * at any step leaves nothing behind. The CLI and the CNI plugin are thin edges over this class; the
 * jobs it orchestrates (planning, address allocation, conflict checks, host sysctls, the drivers,
 * the firewall, the public views) each have their own module below it.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { ConflictError, errorMessage, InvalidConfigError, NotFoundError, StateError, TeardownError, wrapError } from './errors.js';
import type { FirewallDriver } from './firewall/driver.js';
import { ForeignFirewall } from './firewall/foreign.js';
import type { HostChange } from './firewall/host-change.js';
import { NftFirewallDriver } from './firewall/nft/nft-driver.js';
import { firewallEndpoint, firewallNetwork } from './firewall/records.js';
import { allocateEndpoint, type EndpointAllocation, releaseEndpoint } from './ipam/endpoint-addresses.js';
import { RT_TABLE_MAIN } from './netlink/constants.js';
import type { Rtnl } from './netlink/rtnl/handle.js';
import { parseNetnsRef } from './netns/netns.js';
import { assertNotAttached, type AttachmentKey, attachmentOf, findAttachment, hostEndPresent } from './network/attachments.js';
import { type NetworkPlan, planNetwork } from './network/config.js';
import { checkForgottenLinks, checkHostConflicts, checkPublishable, checkStateConflicts } from './network/conflicts.js';
import { type ConnectPlan, firstFreeEthName, planConnect } from './network/connect-options.js';
import type { AttachAddress, DriverContext } from './network/driver.js';
import { DriverRegistry } from './network/drivers.js';
import { collectGarbage, type GcAction, type GcEngine, type GcReport, releaseVanished } from './network/gc.js';
import { hostEndsOf, HostSysctls } from './network/host-sysctls.js';
import { HostKernel, type Kernel } from './network/kernel.js';
import { LinkOwnership } from './network/ownership.js';
import { Rollback } from './network/rollback.js';
import type { AttachedEndpoint, ConnectOptions, Endpoint, EndpointSelector, Network, NetworkSpec, SysctlChange, SysctlState } from './network/types.js';
import { ensureLoopbackUp } from './network/veth.js';
import { attachedView, endpointView, networkView } from './network/views.js';
import { type EndpointLock, EndpointLocks } from './state/endpoint-locks.js';
import type { EndpointRecord, NetworkRecord } from './state/records.js';
import { ifFileLockFree, withFileLock } from './state/file-lock.js';
import { DEFAULT_LOCK_TIMEOUT_MS, STATE_DB_FILE, StateStore } from './state/store.js';
import { stateDirOf } from './state/state-dir.js';
import { assertAbsoluteStateDir } from './state/trust.js';
import { validateNetnsName, validateNetworkName } from './validate/names.js';

const debug = debuglog('ctnet');

export { DEFAULT_STATE_DIR } from './state/state-dir.js';

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
  /**
   * The kernel to work on: the host's rtnetlink handle, the containers' namespaces, the host's
   * sysctls and sockets. Default: the real one, which `close()` releases; one given here stays the
   * caller's to close. Tests give an in-memory one.
   */
  kernel?: Kernel;
  /**
   * The state database to use, already open; the state directory is its directory (a different
   * `stateDir` is refused). It stays the caller's to close. Default: `stateDir`'s, which `close()`
   * closes.
   */
  store?: StateStore;
  /**
   * Called for every change the default firewall makes to another firewall's chain (accept rules
   * for a network where that chain drops by default), right after it. A `firewall` given here
   * reports through its own options instead.
   */
  onHostChange?: (change: HostChange) => void;
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

/** What {@link Ctnet.repair} found broken in one network, and what it did. */
export interface NetworkRepair {
  network: string;
  /** What was broken, one line each, as the checks word them. */
  problems: string[];
  /** What is still broken after the repair; empty when it held. */
  remaining: string[];
  /** Set when the repair failed: the error's message. */
  error?: string;
}

/** What {@link Ctnet.repair} did. */
export interface RepairReport {
  /** The networks that were broken; the others were only looked at. */
  networks: NetworkRepair[];
  /** Endpoints released because their container's namespace is gone (as `gc` releases them). */
  released: GcAction[];
}

/** Whose firewall objects a repair lists one by one: every network's and endpoint's, or those of these ids. */
export type FirewallScope = 'all' | { networks: readonly string[]; endpoints: readonly string[] };

export interface RepairOptions {
  /**
   * Whose firewall objects to look for one by one (one `nft` listing per network and per endpoint
   * with published ports). Any other network gets the cheap probe the connect path makes (its
   * inbound chain, over netlink).
   */
  firewall?: FirewallScope;
  /** Networks to leave alone this time, by name. */
  skip?: ReadonlySet<string>;
}

function newId(): string {
  return randomBytes(8).toString('hex');
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
  readonly #kernel: Kernel;
  /** What `close()` releases: what the engine opened itself. */
  readonly #owned: { store: boolean; kernel: boolean };
  readonly #firewall: FirewallDriver;
  readonly #firewallLock: string;
  readonly #lockDir: string;
  readonly #onStep: ((step: string) => void | Promise<void>) | undefined;
  readonly #sysctls: HostSysctls;
  readonly #drivers = new DriverRegistry();
  readonly #links: LinkOwnership;
  readonly #dbPath: string;
  readonly #lockTimeoutMs: number;
  readonly #endpointLocks: EndpointLocks;
  #closed = false;
  readonly #events = new EventEmitter<CtnetEvents>();

  private constructor(store: StateStore, stateDir: string, options: CtnetOptions) {
    this.#store = store;
    this.#kernel = options.kernel ?? new HostKernel();
    this.#owned = { store: options.store === undefined, kernel: options.kernel === undefined };
    this.#links = new LinkOwnership(stateDir);
    this.#dbPath = join(stateDir, STATE_DB_FILE);
    this.#lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    this.#firewallLock = join(stateDir, 'firewall.lock');
    this.#lockDir = join(stateDir, 'locks');
    mkdirSync(this.#lockDir, { recursive: true, mode: 0o700 });
    this.#endpointLocks = new EndpointLocks(this.#lockDir, store, this.#lockTimeoutMs);
    this.#firewall = options.firewall ?? new NftFirewallDriver(undefined, { foreign: new ForeignFirewall(options.onHostChange === undefined ? {} : { onHostChange: options.onHostChange }) });
    this.#onStep = options.onStep;
    this.#sysctls = new HostSysctls(this.#kernel, options.onSysctlChange);
  }

  /**
   * Open the engine on a state directory (absolute; created 0700 if missing, refused when another
   * user could write to it).
   */
  static open(options: CtnetOptions = {}): Ctnet {
    const given = options.store;
    if (given !== undefined) {
      if (options.stateDir !== undefined && options.stateDir !== given.dir) {
        throw new InvalidConfigError(`stateDir "${options.stateDir}" is not the directory of the given state database (${given.dir})`);
      }
      return new Ctnet(given, given.dir, options);
    }
    const dir = stateDirOf(options.stateDir);
    assertAbsoluteStateDir(dir);
    return new Ctnet(StateStore.open(dir, options.lockTimeoutMs === undefined ? {} : { busyTimeoutMs: options.lockTimeoutMs }), dir, options);
  }

  /**
   * Release the database, sockets and handles the engine opened (not a `kernel` or `store` given
   * to {@link Ctnet.open}). The engine refuses every call afterwards.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned.kernel) this.#kernel.close();
    this.#firewall.close?.();
    if (this.#owned.store) this.#store.close();
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
    return { host: this.#kernel.host, links: this.#links, step: (name) => this.#step(name), sysctl: (sysctl) => { this.#sysctls.set(sysctl, true); } };
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
    const { host } = this.#ctx;
    // A network of this name that is not ready is what a killed create or remove left: finish
    // removing it, then create the network anew. Nobody else works on it: we hold its lock.
    const leftover = this.#store.getNetwork(plan.name);
    if (leftover !== undefined && leftover.status !== 'ready') await this.#removeNetworkRecord(leftover);
    if (this.#store.isEmpty()) checkForgottenLinks(host, this.#links, this.#dbPath);
    const record: NetworkRecord = { id, ...plan, status: 'creating', created: new Date().toISOString() };
    // ctnet's own networks first: their bridges and routes are host objects too, and "network
    // "x" already exists" says more than "bridge "ct-x" is already used by an existing interface".
    const networks = this.#store.listNetworks();
    checkStateConflicts(plan, networks);
    checkHostConflicts(host, plan, networks);
    this.#store.transaction(() => {
      // Again under the write lock: another process may have created a network since.
      checkStateConflicts(plan, this.#store.listNetworks());
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
    const network = networkView({ ...record, status: 'ready' });
    this.#emit('network-created', network);
    return network;
  }

  /** Make (or finish) every kernel object of a network: driver objects, forwarding, firewall. */
  async #realiseNetwork(net: NetworkRecord, rb: Rollback): Promise<void> {
    await this.#drivers.of(net).setup(this.#ctx, net, rb);
    if (!net.internal) this.#sysctls.enableForwarding(net);
    await this.#step('forwarding');
    const fw = firewallNetwork(net);
    // Before the setup, as teardown is idempotent: a setup that fails after its table transaction
    // (in another firewall's chain) is undone too.
    rb.push('firewall', () => this.#withFirewall((f) => f.teardownNetwork(fw)));
    await this.#withFirewall((f) => f.setupNetwork(fw));
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
    this.#emit('network-removed', networkView(net));
  }

  /**
   * What a network's kernel side lacks, one line per problem (empty: complete): its driver objects
   * (bridge, gateway addresses), forwarding, and every firewall chain and element. Only reads.
   */
  async checkNetwork(name: string): Promise<string[]> {
    this.#live();
    const net = this.#requireNetwork(name);
    const problems = net.status === 'ready' ? [] : [`network "${name}" is half-made (${net.status})`];
    problems.push(...this.#drivers.of(net).check(this.#ctx, net), ...this.#sysctls.forwardingProblems(net));
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
    if (ep.ports.length > 0) problems.push(...(await this.#firewall.checkPorts(firewallEndpoint(ep))));
    return problems;
  }

  /**
   * Put back what someone else broke, as the agent does when the kernel reports a change: endpoints
   * whose container namespace is gone are released (address, ports, record); then each ready
   * network whose bridge, gateway addresses, forwarding or firewall (see `options.firewall`) is
   * missing or off, or whose ready endpoints' host ends are down or no longer ports of its bridge,
   * is made again: bridge with its MAC, addresses and sysctls, forwarding, firewall chains and
   * every endpoint's published ports, the host ends up and enslaved again. A broken network is
   * mended under its exclusive lock and looked at again there, so a create, remove or connect in
   * progress is never fought: a network that is not `ready` is left alone. Nothing broken: only
   * reads, nothing changed. A network whose repair fails is reported with its error; the others
   * go on.
   * @example
   * ```ts
   * const { networks, released } = await ct.repair();
   * // networks: [{ network: 'net1', problems: ['bridge ct-net1 is missing', ...], remaining: [] }]
   * ```
   */
  async repair(options: RepairOptions = {}): Promise<RepairReport> {
    this.#live();
    const { actions: released } = await releaseVanished(this.#gcEngine);
    const networks: NetworkRepair[] = [];
    for (const net of this.#store.listNetworks()) {
      if (net.status !== 'ready' || options.skip?.has(net.name) === true) continue;
      const done = await this.#repairNetwork(net, options.firewall);
      if (done !== undefined) networks.push(done);
    }
    return { networks, released };
  }

  async #repairNetwork(found: NetworkRecord, firewall: FirewallScope | undefined): Promise<NetworkRepair | undefined> {
    try {
      if ((await this.#brokenParts(found, firewall)).length === 0) return undefined;
      return await this.#withNetworkLock(found.name, 'exclusive', async () => {
        // Under its lock: a create or remove has finished, and another process may have mended it.
        const net = this.#store.getNetwork(found.name);
        if (net?.id !== found.id || net.status !== 'ready') return undefined;
        const problems = await this.#brokenParts(net, firewall);
        if (problems.length === 0) return undefined;
        debug('repairing network %s: %s', net.name, problems.join('; '));
        try {
          await this.#finishNetwork(net);
          this.#restoreHostEnds(net);
        } catch (err) {
          return { network: net.name, problems, remaining: [], error: errorMessage(err) };
        }
        return { network: net.name, problems, remaining: await this.#brokenParts(net, firewall) };
      });
    } catch (err) {
      return { network: found.name, problems: [], remaining: [], error: errorMessage(err) };
    }
  }

  /**
   * What `repair` mends of a ready network, one line each. Endpoints count while ready and their
   * host end is there: one whose host end is gone went with its namespace (released first), or
   * was deleted while its container lives, which only a connect of the container mends.
   */
  async #brokenParts(net: NetworkRecord, firewall: FirewallScope | undefined): Promise<string[]> {
    const driver = this.#drivers.of(net);
    const fw = firewallNetwork(net);
    const problems = [...driver.check(this.#ctx, net), ...this.#sysctls.forwardingProblems(net)];
    const listed = (id: string, ids: 'networks' | 'endpoints'): boolean => firewall === 'all' || firewall?.[ids].includes(id) === true;
    if (listed(net.id, 'networks') || !(await this.#firewall.networkPresent(fw))) problems.push(...(await this.#firewall.checkNetwork(fw)));
    for (const ep of this.#store.listEndpoints({ networkId: net.id })) {
      if (ep.status !== 'ready' || !hostEndPresent(this.#kernel.host, this.#links, ep)) continue;
      problems.push(...driver.checkAttachment(this.#ctx, net, ep));
      if (ep.ports.length > 0 && listed(ep.id, 'endpoints')) problems.push(...(await this.#firewall.checkPorts(firewallEndpoint(ep))));
    }
    // A lost table is named by the network's check and by each endpoint's: once.
    return [...new Set(problems)];
  }

  /** Each ready endpoint's host end up and enslaved again; one that vanished meanwhile (its namespace went) is no failure. */
  #restoreHostEnds(net: NetworkRecord): void {
    const driver = this.#drivers.of(net);
    for (const ep of this.#store.listEndpoints({ networkId: net.id })) {
      if (ep.status !== 'ready') continue;
      try {
        driver.repairAttachment(this.#ctx, net, ep);
      } catch (err) {
        if (hostEndPresent(this.#kernel.host, this.#links, ep)) throw err;
      }
    }
  }

  /**
   * Cheap enough for every connect: whether the network is ready and its bridge, gateway
   * addresses, forwarding and firewall chains are there.
   */
  async #looksComplete(net: NetworkRecord): Promise<boolean> {
    if (net.status !== 'ready') return false;
    if (this.#drivers.of(net).check(this.#ctx, net).length > 0 || this.#sysctls.forwardingProblems(net).length > 0) return false;
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
      await this.#finishNetwork(net);
    });
  }

  /** Make what a network lacks, holding its exclusive lock; one that was half-made is announced. */
  async #finishNetwork(net: NetworkRecord): Promise<void> {
    debug('completing network %s', net.name);
    const rb = new Rollback();
    await this.#realiseNetwork(net, rb);
    rb.commit();
    // A lost table took the published ports with it; putting back what is there changes nothing.
    for (const ep of this.#store.listEndpoints({ networkId: net.id })) {
      if (ep.ports.length === 0) continue;
      const fwEp = firewallEndpoint(ep);
      await this.#withFirewall(async (f) => {
        // Under the firewall lock: a disconnect marks the endpoint removing before it takes this
        // lock to take the ports down, so it never finds them put back after.
        const now = this.#store.getEndpointById(ep.id);
        if (now !== undefined && now.status !== 'removing') await f.setupPorts(fwEp);
      });
    }
    if (net.status === 'ready') return;
    this.#store.setNetworkStatus(net.id, 'ready');
    this.#emit('network-created', networkView({ ...net, status: 'ready' }));
  }

  /** Every network, by name. Equivalent to: `ctnet network ls`. */
  listNetworks(): Network[] {
    this.#live();
    return this.#store.listNetworks().map(networkView);
  }

  /** One network with its endpoints. Equivalent to: `ctnet network inspect NAME`. */
  inspectNetwork(name: string): NetworkDetails {
    this.#live();
    const net = this.#requireNetwork(name);
    const endpoints = this.#store.listEndpoints({ networkId: net.id });
    const sysctls = this.#sysctls.states(net, this.#drivers.of(net).sysctls(net, hostEndsOf(endpoints)));
    return { ...networkView(net), endpoints: endpoints.map((e) => endpointView(e, net)), sysctls };
  }

  /** Every endpoint on every network. Equivalent to: `ctnet ls`. */
  listEndpoints(): Endpoint[] {
    this.#live();
    const nets = new Map(this.#store.listNetworks().map((n) => [n.id, n]));
    return this.#store.listEndpoints().flatMap((e) => {
      const net = nets.get(e.networkId);
      return net === undefined ? [] : [endpointView(e, net)];
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
    const identity = this.#kernel.netns.identity(ref);
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
    this.#kernel.netns.deleteNamed(name);
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
    const plan = planConnect(net, options);
    const ctx = this.#ctx;
    checkPublishable(this.#kernel, net, plan.ports);
    const ref = parseNetnsRef(container);
    const ns = this.#kernel.netns.openContainer(ref);
    let inside: Rtnl;
    try {
      inside = ns.openHandle();
    } catch (err) {
      ns.close();
      throw err;
    }
    const rb = new Rollback();
    let lock: EndpointLock | undefined;
    try {
      const key = { owner: options.owner ?? 'cli', container: options.containerId ?? container, netns: ref.path, netnsId: ns.identity };
      const known = { ...key, ...(plan.ifname === undefined ? {} : { ifname: plan.ifname }) };
      await this.#redoStale(net, known);
      // Before the container is looked at: "already connected" says more than "eth0 already exists".
      assertNotAttached(this.#store, net, known);
      const links = inside.linkList();
      const ifname = plan.ifname ?? firstFreeEthName(links.map((l) => l.name));
      if (links.some((l) => l.name === ifname)) {
        throw new ConflictError(`interface "${ifname}" already exists in container "${container}"`);
      }
      // The first network of each family gives the container its default route.
      const defaultRoute = new Set(([4, 6] as const).filter((f) => !inside.routeList(f).some((r) => r.dst === undefined && r.table === RT_TABLE_MAIN)));
      const id = newId();
      // Held until the endpoint is ready or undone: a record that is half-made while nobody holds
      // its lock is one a killed process left.
      lock = this.#endpointLocks.holdNew(id);
      const endpoint: Omit<EndpointRecord, 'networkId' | 'addresses'> = {
        ...key,
        id,
        ifname,
        hostIfname: this.#links.pendingName(id),
        mac: plan.mac,
        ports: plan.ports,
        status: 'creating',
        created: new Date().toISOString(),
      };
      const allocation = this.#allocate(net, endpoint, plan);
      rb.push('state', () => { releaseEndpoint(this.#store, allocation); });
      await this.#step('state');
      const addresses = allocation.picked.map((p): AttachAddress => ({ ...p, defaultRoute: defaultRoute.has(p.ip.family) }));
      const { hostIfname, mac, ports } = allocation.record;
      const result = await this.#drivers.of(net).attach(ctx, net, { id, netns: ns, container: inside, ifname, hostIfname, mac, addresses, publishes: ports.length > 0 }, rb);
      if (ports.length > 0) {
        const fwEp = firewallEndpoint(allocation.record);
        await this.#withFirewall((f) => f.setupPorts(fwEp));
        rb.push('ports', () => this.#withFirewall((f) => f.teardownPorts(fwEp)));
        await this.#step('ports');
      }
      ensureLoopbackUp(inside);
      this.#store.setEndpointStatus(id, 'ready');
      rb.commit();
      const view = endpointView({ ...allocation.record, status: 'ready' }, net);
      this.#emit('endpoint-connected', view);
      return attachedView(view, result.routes);
    } catch (err) {
      throw wrapError(`connect "${container}" to network "${net.name}"`, await rb.unwind(err));
    } finally {
      lock?.release();
      inside.close();
      ns.close();
    }
  }

  /**
   * Take down the attachment of the container that a killed connect or disconnect left half-made
   * (`creating` or `removing`), or that lost its host end (its namespace went, and one made since
   * may even have its identity; or someone deleted the veth), so that this connect makes it anew.
   * A process that is still working on it holds its lock, and is waited for.
   */
  async #redoStale(net: NetworkRecord, key: AttachmentKey): Promise<void> {
    const found = attachmentOf(this.#store, net, key);
    if (found === undefined || !this.#stale(found)) return;
    await this.#endpointLocks.with(found.id, async () => {
      // Under its lock: a process that was still working on it has finished by now.
      const ep = this.#store.getEndpointById(found.id);
      if (ep === undefined || !this.#stale(ep)) return;
      debug('taking down the stale (%s) endpoint %s of "%s"', ep.status, ep.id, ep.container);
      await this.#removeEndpoint(net, ep);
    });
  }

  #stale(ep: EndpointRecord): boolean {
    return ep.status !== 'ready' || !hostEndPresent(this.#kernel.host, this.#links, ep);
  }

  /** Reserve addresses and record the endpoint in one transaction, so concurrent connects never share one. */
  #allocate(net: NetworkRecord, endpoint: Omit<EndpointRecord, 'networkId' | 'addresses'>, plan: ConnectPlan): EndpointAllocation {
    const driver = this.#drivers.of(net);
    return this.#store.transaction(() => {
      assertNotAttached(this.#store, net, endpoint);
      return allocateEndpoint(this.#store, net, endpoint, plan.requested, (family, prefix) => driver.interfacePrefix(family, prefix));
    });
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
    await this.#endpointLocks.with(ep.id, async () => {
      // Under its lock: a connect or disconnect of it that was still running has finished.
      const now = this.#store.getEndpointById(ep.id);
      if (now === undefined) throw new NotFoundError(`container "${container}" is not connected to network "${networkName}"`);
      await this.#removeEndpoint(net, now);
    });
  }

  /**
   * Take down an endpoint and forget it, holding its lock. It is marked `removing` first (a write
   * that fails, changing nothing, when another process keeps the database locked), so a removal
   * killed after that leaves a record the next one finishes; the row goes last. One that was
   * announced connected is announced disconnected.
   */
  async #removeEndpoint(net: NetworkRecord, ep: EndpointRecord): Promise<void> {
    this.#store.setEndpointStatus(ep.id, 'removing');
    try {
      if (ep.ports.length > 0) {
        const fwEp = firewallEndpoint(ep);
        await this.#withFirewall((f) => f.teardownPorts(fwEp));
      }
      await this.#drivers.of(net).detach(this.#ctx, net, ep);
    } catch (err) {
      throw wrapError(`disconnect "${ep.container}" from network "${net.name}"`, err);
    }
    this.#store.deleteEndpoint(ep.id);
    if (ep.status !== 'creating') this.#emit('endpoint-disconnected', endpointView(ep, net));
  }

  /**
   * Reconcile the state database with the kernel after crashes: endpoints whose container
   * namespace is gone are released, half-made endpoints whose process is gone are removed, networks
   * left `creating` are completed and those left `removing` removed, and host links and firewall
   * objects that no record owns are deleted. What a live process is still working on is left to it.
   * With `dryRun`, nothing changes and the report says what would be done. Safe beside other
   * ctnet processes and calls of this engine.
   * Equivalent to: `ctnet gc [--dry-run]`.
   * @example
   * ```ts
   * const report = await ct.gc({ dryRun: true });
   * for (const a of report.actions) console.log(a.kind, a.subject, a.reason);
   * ```
   */
  async gc(options: { dryRun?: boolean } = {}): Promise<GcReport> {
    this.#live();
    return collectGarbage(this.#gcEngine, { dryRun: options.dryRun === true });
  }

  /** What a gc (and a repair's release of vanished containers) borrows from the engine. */
  get #gcEngine(): GcEngine {
    return {
      store: this.#store,
      kernel: this.#kernel,
      links: this.#links,
      endpointLocks: this.#endpointLocks,
      ifNetworkFree: (name, fn) => ifFileLockFree(this.#networkLock(name), fn),
      withFirewall: (fn) => this.#withFirewall(fn),
      removeEndpoint: (net, ep) => this.#removeEndpoint(net, ep),
      completeNetwork: (net) => this.#finishNetwork(net),
      removeNetwork: (net) => this.#removeNetworkRecord(net),
    };
  }

  /** The endpoint of a container on a network (with `ifname`: that attachment), or undefined. */
  getEndpoint(networkName: string, container: string, selector: EndpointSelector = {}): Endpoint | undefined {
    this.#live();
    const net = this.#requireNetwork(networkName);
    const ep = this.#findEndpoint(net, container, selector);
    return ep === undefined ? undefined : endpointView(ep, net);
  }

  #findEndpoint(net: NetworkRecord, container: string, selector: EndpointSelector): EndpointRecord | undefined {
    return findAttachment(this.#store, net.id, container, selector, (ref) => this.#kernel.netns.identity(ref));
  }

  /**
   * Firewall changes of concurrent ctnet processes run one at a time: a teardown reads the table
   * before it deletes, and must not interleave with another network's setup.
   */
  #withFirewall<T>(fn: (fw: FirewallDriver) => Promise<T>): Promise<T> {
    return withFileLock(this.#firewallLock, () => fn(this.#firewall), { timeoutMs: this.#lockTimeoutMs });
  }

  /** A per-network reader/writer lock across processes: create and remove exclusive, connect shared. */
  #withNetworkLock<T>(name: string, mode: 'shared' | 'exclusive', fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.#networkLock(name), fn, { shared: mode === 'shared', timeoutMs: this.#lockTimeoutMs });
  }

  #networkLock(name: string): string {
    return join(this.#lockDir, `network-${name}.lock`);
  }

  #requireNetwork(name: string): NetworkRecord {
    const net = this.#store.getNetwork(name);
    if (net === undefined) throw new NotFoundError(`network "${name}" not found`);
    return net;
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
