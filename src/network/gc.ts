/**
 * `gc`: reconcile the state database with the kernel after crashes. A killed change leaves a
 * record that says how far it got (see "Half-made networks and endpoints" in ARCHITECTURE.md); a
 * container runtime that dies leaves endpoints whose namespace is gone; a lost or rewritten
 * database leaves kernel objects nobody owns. This module decides what is garbage and in which
 * order it goes; the engine lends it the operations (taking an endpoint down, completing or
 * removing a network) so there is one way of doing each.
 *
 * What makes it safe beside other ctnet processes:
 * - a half-made record is taken over only while nobody holds its lock (endpoint locks, the
 *   network's lock), and looked at again under it: a live process is left to finish;
 * - kernel objects are listed before the records are read, and every record is written before
 *   the objects it owns are made and deleted after they are gone: an object listed with no record
 *   read after it has no owner that can still appear. Firewall owners are compared under the
 *   firewall lock, which every change of the packet filter takes.
 * @module
 */
import { errorMessage } from '../errors.js';
import type { FirewallDriver } from '../firewall/driver.js';
import type { EndpointLocks } from '../state/endpoint-locks.js';
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import type { StateStore } from '../state/store.js';
import { namespaceGone } from './attachments.js';
import type { Kernel } from './kernel.js';
import type { GcAction, GcReport } from './gc-report.js';
import type { LinkOwnership } from './ownership.js';

export type { GcAction, GcActionKind, GcReport } from './gc-report.js';

/** What the engine lends a gc. */
export interface GcEngine {
  readonly store: StateStore;
  readonly kernel: Pick<Kernel, 'host' | 'netns'>;
  readonly links: LinkOwnership;
  readonly endpointLocks: EndpointLocks;
  /** Run `fn` holding the network's exclusive lock if nobody holds it now; false when somebody does. */
  ifNetworkFree(name: string, fn: () => Promise<void>): Promise<boolean>;
  /** Run `fn` holding the firewall lock. */
  withFirewall<T>(fn: (fw: FirewallDriver) => Promise<T>): Promise<T>;
  /** Take an endpoint down and delete its record; called holding its lock. */
  removeEndpoint(net: NetworkRecord, ep: EndpointRecord): Promise<void>;
  /** Make what a network lacks and mark it ready; called holding its exclusive lock. */
  completeNetwork(net: NetworkRecord): Promise<void>;
  /** Finish removing a network; called holding its exclusive lock. */
  removeNetwork(net: NetworkRecord): Promise<void>;
}

/**
 * Find what is garbage and, unless `dryRun`, remove it: endpoints first (their links and ports
 * are the ones networks and sweeps would otherwise meet), then half-made networks, then host
 * links and firewall objects that no record owns, then lock files that outlived their record.
 * Each action that fails is reported with its error and the rest go on.
 */
export async function collectGarbage(engine: GcEngine, options: { dryRun: boolean }): Promise<GcReport> {
  const report: GcReport = { dryRun: options.dryRun, actions: [], inProgress: [] };
  const act = doing(report, options.dryRun);
  await collectEndpoints(engine, report, act, { halfMade: true });
  await collectNetworks(engine, report, act);
  await collectLinks(engine, act);
  await collectFirewall(engine, act);
  if (!options.dryRun) await collectLockFiles(engine);
  return report;
}

/**
 * Only the first sweep of a gc, for ready endpoints: release those whose container namespace is
 * gone (what the agent does as soon as the kernel reports a host end deleted). An endpoint a
 * live process is working on (its lock is held) is left to it and reported in `inProgress`.
 */
export async function releaseVanished(engine: GcEngine): Promise<GcReport> {
  const report: GcReport = { dryRun: false, actions: [], inProgress: [] };
  await collectEndpoints(engine, report, doing(report, false), { halfMade: false });
  return report;
}

/** Report `actions` and, unless it is a dry run, do them with `fn`; a failure is their error. */
type Act = (actions: GcAction[], fn: () => Promise<void>) => Promise<void>;

function doing(report: GcReport, dryRun: boolean): Act {
  return async (actions, fn) => {
    report.actions.push(...actions);
    if (dryRun) return;
    try {
      await fn();
    } catch (err) {
      for (const a of actions) a.error = errorMessage(err);
    }
  };
}

/** Endpoints whose namespace is gone, and (with `halfMade`) those a killed process left half-made. */
async function collectEndpoints(engine: GcEngine, report: GcReport, act: Act, options: { halfMade: boolean }): Promise<void> {
  const { store } = engine;
  const garbage = (ep: EndpointRecord): boolean => (ep.status === 'ready' ? namespaceGone(engine.kernel, engine.links, ep) : options.halfMade);
  for (const net of store.listNetworks()) {
    for (const ep of store.listEndpoints({ networkId: net.id })) {
      if (!garbage(ep)) continue;
      const action = endpointAction(net, ep);
      const free = await engine.endpointLocks.ifFree(ep.id, async () => {
        // Under its lock: the process that held it may have finished it, or removed it.
        const now = store.getEndpointById(ep.id);
        if (now === undefined || !garbage(now)) return;
        await act([endpointAction(net, now)], () => engine.removeEndpoint(net, now));
      });
      if (!free) report.inProgress.push(action);
    }
  }
}

function endpointAction(net: NetworkRecord, ep: EndpointRecord): GcAction {
  const subject = `endpoint "${ep.container}" (${ep.ifname}) on network "${net.name}"`;
  return ep.status === 'ready'
    ? { kind: 'release-endpoint', subject, id: ep.id, reason: 'its network namespace is gone' }
    : { kind: 'remove-endpoint', subject, id: ep.id, reason: `half-made (${ep.status}) by a process that is gone` };
}

async function collectNetworks(engine: GcEngine, report: GcReport, act: Act): Promise<void> {
  const { store } = engine;
  for (const net of store.listNetworks()) {
    if (net.status === 'ready') continue;
    const action: GcAction =
      net.status === 'creating'
        ? { kind: 'complete-network', subject: `network "${net.name}"`, id: net.id, reason: 'half-made (creating) by a process that is gone' }
        : { kind: 'remove-network', subject: `network "${net.name}"`, id: net.id, reason: 'half-removed (removing) by a process that is gone' };
    const free = await engine.ifNetworkFree(net.name, async () => {
      // Under its lock: the process that held it may have finished it.
      const now = store.getNetwork(net.name);
      if (now?.id !== net.id || now.status !== net.status) return;
      await act([action], () => (now.status === 'creating' ? engine.completeNetwork(now) : engine.removeNetwork(now)));
    });
    if (!free) report.inProgress.push(action);
  }
}

/** The ids of every record, read after the kernel objects they are compared with were listed. */
function recordIds(store: StateStore): { networks: Set<string>; endpoints: Set<string> } {
  return { networks: new Set(store.listNetworks().map((n) => n.id)), endpoints: new Set(store.listEndpoints().map((e) => e.id)) };
}

async function collectLinks(engine: GcEngine, act: Act): Promise<void> {
  const { host } = engine.kernel;
  const listed = host.linkList();
  const { networks, endpoints } = recordIds(engine.store);
  const ids = [...networks, ...endpoints];
  for (const link of listed) {
    const claim = engine.links.claim(link);
    if (claim === undefined) continue;
    const owned = claim.pending ? ids.some((id) => engine.links.pendingName(id) === link.name) : networks.has(claim.id) || endpoints.has(claim.id);
    if (owned) continue;
    const reason = claim.pending ? 'unmarked under a pending name (its creator was killed), and no record names it' : "it carries ctnet's mark, and no record owns it";
    await act([{ kind: 'remove-link', subject: `link ${link.name}`, id: claim.id, reason }], async () => {
      await engine.links.removeOwned(host, claim.id, [link.name]);
    });
  }
}

async function collectFirewall(engine: GcEngine, act: Act): Promise<void> {
  await engine.withFirewall(async (fw) => {
    const present = await fw.listOwners();
    const { networks, endpoints } = recordIds(engine.store);
    const orphans = { networks: present.networks.filter((id) => !networks.has(id)), endpoints: present.endpoints.filter((id) => !endpoints.has(id)) };
    const actions: GcAction[] = [
      ...orphans.networks.map((id): GcAction => ({ kind: 'remove-firewall', subject: `firewall chains and elements of network ${id}`, id, reason: 'no record owns them' })),
      ...orphans.endpoints.map((id): GcAction => ({ kind: 'remove-firewall', subject: `published-port elements of endpoint ${id}`, id, reason: 'no record owns them' })),
    ];
    // One transaction for all of them: they succeed or fail together.
    if (actions.length > 0) await act(actions, () => fw.removeOwners(orphans));
  });
}

/** Lock files of records that are gone: what a process killed around writing or deleting its record left. */
async function collectLockFiles(engine: GcEngine): Promise<void> {
  for (const id of engine.endpointLocks.listed()) {
    if (engine.store.getEndpointById(id) !== undefined) continue;
    // Released with no record, the file goes; a live connect about to write the record holds it.
    await engine.endpointLocks.ifFree(id, () => Promise.resolve());
  }
}
