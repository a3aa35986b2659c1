/**
 * What `gc` reports, and how a report reads: kept apart from the collector so that the CLI can
 * word a report the agent sent without loading the engine.
 * @module
 */

/** What one step of a gc does. */
export type GcActionKind =
  /** A ready endpoint whose container namespace is gone: its ports, links and record go. */
  | 'release-endpoint'
  /** A half-made endpoint whose process is gone: what it made goes, and its record. */
  | 'remove-endpoint'
  /** A network left `creating`: what it lacks is made. */
  | 'complete-network'
  /** A network left `removing`: the removal is finished. */
  | 'remove-network'
  /** A host link ctnet made that no record owns. */
  | 'remove-link'
  /** Firewall chains, rules or elements that no record owns. */
  | 'remove-firewall';

/** One thing a gc did, or with `dryRun` would do. */
export interface GcAction {
  kind: GcActionKind;
  /** What it is about: `endpoint "c1" (eth0) on network "net1"`, `link ct0a1b2c3d4e5f`. */
  subject: string;
  /** Why it is garbage. */
  reason: string;
  /** The record's id, or the owner id a link's mark or a firewall comment names. */
  id: string;
  /** Set when doing it failed: the error's message. The other actions went on. */
  error?: string;
}

/** What `gc` found. */
export interface GcReport {
  /** True when nothing was changed: `actions` are what a gc would do now. */
  dryRun: boolean;
  /** In the order done: endpoints, networks, links, firewall. */
  actions: GcAction[];
  /** Half-made records that a live process is still working on: left to it. */
  inProgress: GcAction[];
}

/** How each action reads: done, and to be done. */
const VERBS: Readonly<Record<GcActionKind, readonly [done: string, todo: string]>> = {
  'release-endpoint': ['released', 'release'],
  'remove-endpoint': ['removed', 'remove'],
  'complete-network': ['completed', 'complete'],
  'remove-network': ['finished removing', 'finish removing'],
  'remove-link': ['removed', 'remove'],
  'remove-firewall': ['removed', 'remove'],
};

/** The report as people read it: one line per action, failures and what was left alone included. */
export function describeGcReport(report: GcReport): string[] {
  const line = (a: GcAction): string => {
    const [done, todo] = VERBS[a.kind];
    if (report.dryRun) return `would ${todo} ${a.subject}: ${a.reason}`;
    return a.error === undefined ? `${done} ${a.subject}: ${a.reason}` : `failed to ${todo} ${a.subject}: ${a.error}`;
  };
  const lines = [...report.actions.map(line), ...report.inProgress.map((a) => `left ${a.subject} alone: a live process is working on it`)];
  return lines.length > 0 ? lines : ['nothing to collect'];
}
