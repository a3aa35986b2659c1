/**
 * The verdicts of `ctnet doctor`, one per check, from facts read off the host (run.ts reads
 * them). Pure: each function turns what was seen into ok, warn or fail, why, and how to fix it.
 * @module
 */
import type { ForeignReport } from '../firewall/foreign.js';
import { ownerOf } from '../firewall/foreign-rules.js';
import type { SavedTable } from '../firewall/legacy.js';

/** `fail`: something breaks ctnet's networks now; `warn`: it can, in some setups. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** The result of one check. */
export interface DoctorCheck {
  /** A stable id: `ip-forward`, `forward-policy`, ... */
  name: string;
  status: CheckStatus;
  /** What was found, and why it matters. */
  message: string;
  /** How to fix it; only for `warn` and `fail`. */
  fix?: string;
}

/** Every check, in the order they ran; `ok` is false when one failed. */
export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

/** The most ports a Linux bridge takes: port numbers are 10 bits, and 0 is not used (BR_MAX_PORTS - 1). */
export const BRIDGE_MAX_PORTS = 1023;
// From here on a bridge is close enough to full to say so.
const BRIDGE_PORTS_WARN = Math.floor(BRIDGE_MAX_PORTS * 0.9);

function check(name: string, status: CheckStatus, message: string, fix?: string): DoctorCheck {
  return { name, status, message, ...(fix === undefined ? {} : { fix }) };
}

function quoted(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Forwarding of one family: a fail when it is off while networks need it.
 *
 * @param key The sysctl as sysctl(8) names it: `net.ipv4.ip_forward`.
 * @param value Its value now (undefined: the kernel has no such key, no IPv6 say).
 * @param needing The names of the networks that forward this family.
 */
export function forwardingCheck(name: string, key: string, value: string | undefined, needing: readonly string[]): DoctorCheck {
  const now = `${key} is ${value ?? 'missing'}`;
  if (needing.length === 0) return check(name, 'ok', `${now}; no network forwards this family`);
  if (value === '1') return check(name, 'ok', `${now}, as ${needing.length === 1 ? '1 network needs' : `${needing.length} networks need`} it`);
  return check(
    name,
    'fail',
    `${now}, but network ${quoted(needing)} forward${needing.length === 1 ? 's' : ''} this family: containers reach nothing beyond the host, and published ports answer the host only`,
    `sysctl -w ${key}=1 (and set it in /etc/sysctl.d/ so that it stays); the next ctnet connect also turns it on`,
  );
}

/**
 * br_netfilter: when loaded with bridge-nf-call-iptables=1, frames between two containers of one
 * bridge pass the forward hook as if routed, so other firewalls' forward rules see them.
 *
 * @param values `net.bridge.bridge-nf-call-iptables` and `-ip6tables` (undefined: not loaded).
 */
export function brNetfilterCheck(values: { ip4: string | undefined; ip6: string | undefined }, bridgeNetworks: number): DoctorCheck {
  const name = 'br-netfilter';
  if (values.ip4 === undefined && values.ip6 === undefined) return check(name, 'ok', 'br_netfilter is not loaded: bridged traffic skips the forward hook');
  const on = [values.ip4 === '1' ? 'bridge-nf-call-iptables=1' : undefined, values.ip6 === '1' ? 'bridge-nf-call-ip6tables=1' : undefined].filter((k) => k !== undefined);
  if (on.length === 0) return check(name, 'ok', 'br_netfilter is loaded, but bridged traffic skips the forward hook (bridge-nf-call-iptables and -ip6tables are 0)');
  if (bridgeNetworks === 0) return check(name, 'ok', `br_netfilter sends bridged traffic through the forward hook (${on.join(', ')}); no bridge network`);
  return check(
    name,
    'warn',
    `br_netfilter sends bridged traffic through the forward hook (${on.join(', ')}): other firewalls' forward rules see traffic between containers of one network`,
    'ctnet accepts its subnets in forward chains that drop by policy; a firewall that drops them by rule must allow them. Or sysctl -w net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 if nothing on the host needs bridged traffic filtered (Docker and Kubernetes do)',
  );
}

/** One bridge's IPv4 reverse-path filtering: conf/all and the bridge's own (the kernel uses the larger). */
export interface RpFilter {
  bridge: string;
  all: string | undefined;
  own: string | undefined;
}

/**
 * Strict reverse-path filtering (rp_filter 1) on ctnet's bridges drops a packet whose source the
 * host would route out of another interface: a container on two networks sending from one
 * network's address through the other's gateway.
 */
export function rpFilterCheck(bridges: readonly RpFilter[]): DoctorCheck {
  const name = 'rp-filter';
  if (bridges.length === 0) return check(name, 'ok', 'no ctnet bridge to check');
  const strict = bridges.filter((b) => Math.max(Number(b.all ?? 0), Number(b.own ?? 0)) === 1);
  if (strict.length === 0) return check(name, 'ok', `reverse-path filtering is off or loose (rp_filter 0 or 2) on ${plural(bridges.length, 'ctnet bridge')}`);
  const names = strict.map((b) => b.bridge);
  return check(
    name,
    'warn',
    `strict reverse-path filtering (rp_filter=1) on ${names.join(', ')}: a container on several networks cannot send from one network's address over another network's bridge`,
    `sysctl -w net.ipv4.conf.all.rp_filter=2 ${names.map((n) => `net.ipv4.conf.${n}.rp_filter=2`).join(' ')} (loose; the kernel uses the larger of "all" and the interface's own)`,
  );
}

/**
 * Other firewalls' forward drop policies, and whether ctnet's accept rules let every one of its
 * `networks` networks through. Legacy tables that could not be read make an ok a warning.
 */
export function foreignDropCheck(report: ForeignReport, networks: number): DoctorCheck {
  const name = 'forward-policy';
  const unread = report.unreadable.length > 0 ? `; ${report.unreadable.join('; ')}` : '';
  const readFix = 'install the iptables tools (Debian package iptables), which have iptables-legacy-save and -restore';
  const where = (d: ForeignReport['drops'][number]): string => `${d.chain} (${d.firewall})`;
  const uncovered = report.drops.filter((d) => d.uncovered.length > 0);
  if (uncovered.length > 0) {
    return check(
      name,
      'fail',
      uncovered.map((d) => `${where(d)} drops forwarded packets by default and lacks ctnet's accept rules for network ${quoted(d.uncovered)}`).join('; ') + unread,
      'the next ctnet connect to each network puts its rules in (ctnet adds them when a network is created or completed)',
    );
  }
  const status = unread === '' ? 'ok' : 'warn';
  const fix = unread === '' ? undefined : readFix;
  if (report.drops.length === 0) return check(name, status, `no other firewall drops forwarded packets by default${unread}`, fix);
  const drop = `${report.drops.map(where).join(', ')} drop${report.drops.length === 1 ? 's' : ''} forwarded packets by default`;
  const covered = networks === 0 ? 'ctnet adds accept rules there for each network it creates' : "ctnet's accept rules let its networks through";
  return check(name, status, `${drop}; ${covered}${unread}`, fix);
}

/** What legacy iptables of one family holds. */
export interface LegacyFamily {
  family: 4 | 6;
  /** The tables in use (`/proc/net/ip_tables_names`). */
  tables: readonly string[];
  /** Their save, parsed; undefined when it could not be read (`error` says why). */
  saved?: readonly SavedTable[];
  error?: string;
}

/** Rules (not ctnet's own) and policies other than ACCEPT in a save: what nft does not show. */
export function legacyContents(tables: readonly SavedTable[]): { rules: number; tables: string[]; policies: string[] } {
  let rules = 0;
  const used = new Set<string>();
  const policies: string[] = [];
  for (const t of tables) {
    const theirs = t.rules.filter((r) => ownerOf(r.comment) === undefined).length;
    rules += theirs;
    if (theirs > 0) used.add(t.name);
    for (const [chain, policy] of t.policies) {
      if (policy !== 'ACCEPT' && policy !== '-') {
        policies.push(`${t.name} ${chain} ${policy}`);
        used.add(t.name);
      }
    }
  }
  return { rules, tables: [...used], policies };
}

/**
 * Legacy iptables in use beside nftables: its rules apply to every packet, yet `nft list ruleset`
 * does not show them, and ctnet sees only the FORWARD policy there.
 */
export function legacyCheck(families: readonly LegacyFamily[]): DoctorCheck {
  const name = 'legacy-iptables';
  const inUse = families.filter((f) => f.tables.length > 0);
  if (inUse.length === 0) return check(name, 'ok', 'legacy iptables (x_tables) is not in use');
  const tool = (f: LegacyFamily): string => (f.family === 4 ? 'iptables-legacy' : 'ip6tables-legacy');
  const unreadable = inUse.filter((f) => f.saved === undefined);
  if (unreadable.length > 0) {
    return check(
      name,
      'warn',
      unreadable.map((f) => `legacy iptables tables ${f.tables.join(', ')} (IPv${f.family}) are in use, but ${tool(f)}-save cannot read them: ${f.error ?? 'unknown error'}; ctnet can neither see nor mend their FORWARD policy`).join('; '),
      'install the iptables tools (Debian package iptables), which have iptables-legacy-save and -restore',
    );
  }
  const found = inUse.map((f) => ({ f, c: legacyContents(f.saved ?? []) })).filter(({ c }) => c.rules > 0 || c.policies.length > 0);
  if (found.length === 0) return check(name, 'ok', `legacy iptables tables are loaded (${inUse.map((f) => f.tables.join(', ')).join('; ')}) but hold no rule and accept by default`);
  const what = found.map(({ f, c }) => {
    const parts = [c.rules > 0 ? plural(c.rules, 'rule') : undefined, c.policies.length > 0 ? `policies ${c.policies.join(', ')}` : undefined].filter((p) => p !== undefined);
    return `${tool(f)} holds ${parts.join(' and ')} in ${c.tables.join(', ')}`;
  });
  return check(
    name,
    'warn',
    `${what.join('; ')}: nft does not show them, and ctnet sees only the FORWARD policy there`,
    'keep to one iptables: move them to iptables-nft (iptables-legacy-save | iptables-nft-restore), then flush the legacy tables',
  );
}

/** A bridge network's bridge and how many ports it has (undefined: the bridge is missing). */
export interface BridgePorts {
  network: string;
  bridge: string;
  ports: number | undefined;
}

/** Each bridge against the kernel's limit of 1023 ports: a full bridge refuses the next container. */
export function bridgePortsCheck(bridges: readonly BridgePorts[]): DoctorCheck {
  const name = 'bridge-ports';
  if (bridges.length === 0) return check(name, 'ok', 'no bridge network');
  const line = (b: BridgePorts): string => (b.ports === undefined ? `${b.bridge} is missing` : `${b.bridge}: ${b.ports} of ${BRIDGE_MAX_PORTS} ports`);
  const message = bridges.map(line).join(', ');
  const full = bridges.filter((b) => b.ports !== undefined && b.ports >= BRIDGE_MAX_PORTS);
  if (full.length > 0) {
    return check(name, 'fail', `${message}: ${full.map((b) => `network "${b.network}"`).join(', ')} cannot take another container (the kernel answers EXFULL)`, 'spread containers over more networks; a bridge has at most 1023 ports');
  }
  const missing = bridges.filter((b) => b.ports === undefined);
  const nearly = bridges.filter((b) => b.ports !== undefined && b.ports >= BRIDGE_PORTS_WARN);
  if (missing.length > 0) return check(name, 'warn', message, `the next ctnet connect to ${quoted(missing.map((b) => b.network))} makes the bridge again`);
  if (nearly.length > 0) return check(name, 'warn', `${message}: nearly full`, 'spread containers over more networks; a bridge has at most 1023 ports');
  return check(name, 'ok', message);
}

/** Endpoint records whose container namespace is gone: their addresses and ports stay taken. */
export function staleEndpointsCheck(gone: readonly { network: string; container: string }[], total: number): DoctorCheck {
  const name = 'stale-endpoints';
  if (gone.length === 0) return check(name, 'ok', total === 0 ? 'no endpoint' : `the namespace of every endpoint exists (${total})`);
  return check(
    name,
    'warn',
    gone.length === 1
      ? `1 endpoint record of ${total} names a namespace that is gone: its addresses and published ports stay taken`
      : `${gone.length} endpoint records of ${total} name namespaces that are gone: their addresses and published ports stay taken`,
    `ctnet disconnect NETWORK CONTAINER for each (${gone.slice(0, 3).map((e) => `${e.network} ${e.container}`).join(', ')}${gone.length > 3 ? ', ...' : ''})`,
  );
}
