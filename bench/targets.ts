/**
 * The project's targets, each a ratio of two medians measured in the same run, marked met or missed.
 * @module
 */
import { fmt, median } from './stats.js';
import type { Row } from './types.js';

export interface Target {
  what: string;
  /** How the ratio is formed, e.g. `ref bridge ADD / library connect`. */
  ratio: string;
  value: number | undefined;
  goal: string;
  met: boolean | undefined;
  /** Why no value (a row missing). */
  missing?: string;
}

type Lookup = (id: string) => number | undefined;

function lookup(rows: readonly Row[]): Lookup {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return (id) => {
    const r = byId.get(id);
    return r === undefined || r.samples.length === 0 ? undefined : median(r.samples);
  };
}

/** `numerator / denominator` of row medians; `atLeast` or `atMost` the goal. */
function ratio(m: Lookup, what: string, num: string | string[], den: string | string[], goal: { atLeast?: number; atMost?: number }, label: string): Target {
  // A list means "the smallest of these medians" (the fastest of several).
  const pick = (ids: string | string[]): { v: number | undefined; absent: string[] } => {
    const list = Array.isArray(ids) ? ids : [ids];
    const vals = list.map((id) => ({ id, v: m(id) }));
    const present = vals.filter((x): x is { id: string; v: number } => x.v !== undefined);
    return { v: present.length === 0 ? undefined : Math.min(...present.map((x) => x.v)), absent: vals.filter((x) => x.v === undefined).map((x) => x.id) };
  };
  const n = pick(num);
  const d = pick(den);
  const goalText = goal.atLeast !== undefined ? `>= ${goal.atLeast}` : `<= ${goal.atMost ?? Number.NaN}`;
  const absent = [...n.absent, ...d.absent];
  if (n.v === undefined || d.v === undefined || d.v === 0) {
    return { what, ratio: label, value: undefined, goal: goalText, met: undefined, missing: `no data for ${absent.join(', ')}` };
  }
  const value = n.v / d.v;
  const met = goal.atLeast !== undefined ? value >= goal.atLeast : value <= (goal.atMost ?? Number.NaN);
  return { what, ratio: label, value, goal: goalText, met, ...(absent.length > 0 ? { missing: `partial: no data for ${absent.join(', ')}` } : {}) };
}

/** A row whose samples are ratios already: its median against the goal. */
function direct(m: Lookup, what: string, id: string, goal: { atLeast?: number; atMost?: number }, label: string): Target {
  const value = m(id);
  const goalText = goal.atLeast !== undefined ? `>= ${goal.atLeast}` : `<= ${goal.atMost ?? Number.NaN}`;
  if (value === undefined) return { what, ratio: label, value: undefined, goal: goalText, met: undefined, missing: `no data for ${id}` };
  return { what, ratio: label, value, goal: goalText, met: goal.atLeast !== undefined ? value >= goal.atLeast : value <= (goal.atMost ?? Number.NaN) };
}

export function computeTargets(rows: readonly Row[]): Target[] {
  const m = lookup(rows);
  const fastestRefAdd = ['connect.ref-bridge.add', 'connect.netavark.add'];
  return [
    ratio(m, 'library connect >= 8x faster than reference bridge ADD', 'connect.ref-bridge.add', 'connect.lib.add', { atLeast: 8 }, 'ref bridge ADD / library connect'),
    ratio(m, 'CLI connect <= fastest of reference bridge and netavark ADD', 'connect.cli.add', fastestRefAdd, { atMost: 1 }, 'CLI connect / min(ref bridge, netavark) ADD'),
    ratio(m, 'CNI ADD <= fastest of reference bridge and netavark ADD', 'connect.cni.add', fastestRefAdd, { atMost: 1 }, 'ctnet-cni ADD / min(ref bridge, netavark) ADD'),
    ratio(m, 'CNI DEL <= netavark teardown', 'connect.cni.del', 'connect.netavark.del', { atMost: 1 }, 'ctnet-cni DEL / netavark teardown'),
    ratio(m, 'CNI DEL >= 2x faster than reference bridge DEL', 'connect.ref-bridge.del', 'connect.cni.del', { atLeast: 2 }, 'ref bridge DEL / ctnet-cni DEL'),
    ratio(m, 'CNI ADD through the agent <= 1/3 of the fastest of reference bridge and netavark ADD', 'connect.cni-agent.add', fastestRefAdd, { atMost: 1 / 3 }, 'native client + agent ADD / min(ref bridge, netavark) ADD'),
    ratio(m, 'CNI DEL through the agent <= netavark teardown', 'connect.cni-agent.del', 'connect.netavark.del', { atMost: 1 }, 'native client + agent DEL / netavark teardown'),
    ratio(m, 'CNI DEL through the agent >= 2x faster than reference bridge DEL', 'connect.ref-bridge.del', 'connect.cni-agent.del', { atLeast: 2 }, 'ref bridge DEL / native client + agent DEL'),
    ratio(m, 'podman run -d with ctnet <= with the reference plugins', 'podman.ctnet.run', 'podman.ref.run', { atMost: 1 }, 'podman run -d: ctnet / bridge+host-local+portmap'),
    ratio(m, 'CNI ADD with 1 port >= 1.5x faster than bridge+portmap', 'connect.ref-portmap.add', 'connect.cni-port.add', { atLeast: 1.5 }, 'bridge+portmap ADD / ctnet-cni ADD 1 port'),
    ratio(m, 'CNI ADD with 1 port >= 1.5x faster than netavark with a port', 'connect.netavark-port.add', 'connect.cni-port.add', { atLeast: 1.5 }, 'netavark 1 port / ctnet-cni ADD 1 port'),
    ratio(m, 'library connect with 1 port >= 1.5x faster than bridge+portmap', 'connect.ref-portmap.add', 'connect.lib-port.add', { atLeast: 1.5 }, 'bridge+portmap ADD / library connect 1 port'),
    ratio(m, 'library connect with 1 port >= 1.5x faster than netavark with a port', 'connect.netavark-port.add', 'connect.lib-port.add', { atLeast: 1.5 }, 'netavark 1 port / library connect 1 port'),
    ratio(m, 'connect with 1000 endpoints <= 1.3x connect with 10', 'scaling.endpoints-1000.add', 'scaling.endpoints-10.add', { atMost: 1.3 }, 'connect @1000 / connect @10'),
    direct(m, 'port lookup with 1000 published <= 1.1x with 1', 'scaling.tcp-connect.round-ratio', { atMost: 1.1 }, 'TCP connect via port @1000 / @1, median of paired rounds'),
    ratio(m, 'data plane c2c throughput within 3% of hand-built', 'dataplane.ctnet.c2c.tput', 'dataplane.hand.c2c.tput', { atLeast: 0.97 }, 'ctnet / hand-built Gbit/s'),
    ratio(m, 'data plane c2gw throughput within 3% of hand-built', 'dataplane.ctnet.c2gw.tput', 'dataplane.hand.c2gw.tput', { atLeast: 0.97 }, 'ctnet / hand-built Gbit/s'),
    ratio(m, 'data plane c2c ping RTT within 3% of hand-built', 'dataplane.ctnet.c2c.rtt', 'dataplane.hand.c2c.rtt', { atMost: 1.03 }, 'ctnet / hand-built RTT'),
    ratio(m, 'data plane c2gw ping RTT within 3% of hand-built', 'dataplane.ctnet.c2gw.rtt', 'dataplane.hand.c2gw.rtt', { atMost: 1.03 }, 'ctnet / hand-built RTT'),
  ];
}

export function formatTargets(targets: readonly Target[]): string {
  const lines = ['', 'TARGETS (ratios of medians from this run)'];
  const w = Math.max(...targets.map((t) => t.what.length));
  for (const t of targets) {
    const mark = t.met === undefined ? 'n/a   ' : t.met ? 'MET   ' : 'MISSED';
    const val = t.value === undefined ? '-' : `${fmt(t.value)}x`;
    lines.push(`  ${mark} ${t.what.padEnd(w)}  ${val.padStart(7)} (goal ${t.goal}; ${t.ratio})${t.missing === undefined ? '' : `  [${t.missing}]`}`);
  }
  return lines.join('\n');
}
