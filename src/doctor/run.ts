/**
 * `ctnet doctor`: what on this host can break ctnet's networks, read off the kernel, the firewalls
 * and the state directory, one check after another (checks.ts gives the verdicts). It changes
 * nothing.
 * @module
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { DEFAULT_STATE_DIR } from '../ctnet.js';
import { errorMessage } from '../errors.js';
import { ForeignFirewall } from '../firewall/foreign.js';
import { ExecLegacyIptables, type LegacyIptables, parseSave } from '../firewall/legacy.js';
import { ExecNftRunner, type NftRunner } from '../firewall/nft/runner.js';
import { firewallNetwork } from '../firewall/records.js';
import { parseNetnsRef, sysctlName } from '../netns/netns.js';
import { HostKernel, type Kernel } from '../network/kernel.js';
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import { STATE_DB_FILE, StateStore } from '../state/store.js';
import { assertPrivateDir, ensurePrivateFile } from '../state/trust.js';
import {
  brNetfilterCheck,
  bridgePortsCheck,
  type DoctorCheck,
  type DoctorReport,
  foreignDropCheck,
  forwardingCheck,
  type LegacyFamily,
  legacyCheck,
  rpFilterCheck,
  staleEndpointsCheck,
} from './checks.js';

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** The state directory to check; default `$CTNET_STATE_DIR` or /var/lib/ctnet. */
  stateDir?: string;
  /** The kernel to read (links, sysctls, namespaces); default the real one. Tests give an in-memory one. */
  kernel?: Kernel;
  /** Runs `nft`; default the real one. */
  nft?: NftRunner;
  /** Legacy iptables; default the real tools. */
  legacy?: LegacyIptables;
  /** Other firewalls' forward chains; default one reading nf_tables netlink and `legacy`. */
  foreign?: ForeignFirewall;
}

/** What the host checks read: the state's records and the host's kernel and firewalls. */
interface DoctorContext {
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
  kernel: Kernel;
  nft: NftRunner;
  foreign: ForeignFirewall;
  legacy: LegacyIptables;
}

/** One check of the host: its name, and how it reads the host and judges what it sees. */
interface HostCheck {
  name: string;
  run(ctx: DoctorContext): DoctorCheck | Promise<DoctorCheck>;
}

const FORWARDING = [
  { name: 'ip-forward', key: 'net/ipv4/ip_forward', family: 4 },
  { name: 'ipv6-forward', key: 'net/ipv6/conf/all/forwarding', family: 6 },
] as const;

/** The checks after the state directory's, in the order `ctnet doctor` prints them. */
const HOST_CHECKS: readonly HostCheck[] = [
  {
    name: 'nft',
    run: async (ctx) => {
      let listing: unknown;
      try {
        listing = await ctx.nft.list(['tables']);
      } catch (err) {
        return { name: 'nft', status: 'fail', message: `${errorMessage(err)}: ctnet drives the firewall through nft`, fix: 'install nftables (Debian package nftables)' };
      }
      const tables = (listing as { nftables?: unknown[] }).nftables?.filter((i) => typeof i === 'object' && i !== null && 'table' in i).length ?? 0;
      return { name: 'nft', status: 'ok', message: `nft runs and lists ${tables} table${tables === 1 ? '' : 's'}` };
    },
  },
  ...FORWARDING.map(({ name, key, family }): HostCheck => ({
    name,
    run: (ctx) => {
      const needing = ctx.networks.filter((n) => !n.internal && n.subnets.some((s) => s.subnet.family === family)).map((n) => n.name);
      return forwardingCheck(name, sysctlName(key), ctx.kernel.sysctls.readIfPresent(key), needing);
    },
  })),
  {
    name: 'br-netfilter',
    run: (ctx) =>
      brNetfilterCheck(
        { ip4: ctx.kernel.sysctls.readIfPresent('net/bridge/bridge-nf-call-iptables'), ip6: ctx.kernel.sysctls.readIfPresent('net/bridge/bridge-nf-call-ip6tables') },
        ctx.networks.filter((n) => n.bridge !== null).length,
      ),
  },
  {
    name: 'rp-filter',
    run: (ctx) => {
      const all = ctx.kernel.sysctls.readIfPresent('net/ipv4/conf/all/rp_filter');
      const bridges = ctx.networks.flatMap((n) => (n.bridge !== null && ctx.kernel.host.linkGet(n.bridge) !== undefined ? [n.bridge] : []));
      return rpFilterCheck(bridges.map((bridge) => ({ bridge, all, own: ctx.kernel.sysctls.readIfPresent(`net/ipv4/conf/${bridge}/rp_filter`) })));
    },
  },
  { name: 'forward-policy', run: async (ctx) => foreignDropCheck(await ctx.foreign.inspect(ctx.networks.map(firewallNetwork)), ctx.networks.length) },
  {
    name: 'legacy-iptables',
    run: async (ctx) => {
      const families: LegacyFamily[] = [];
      for (const family of [4, 6] as const) {
        const tables = ctx.legacy.tablesInUse(family);
        if (tables.length === 0) {
          families.push({ family, tables });
          continue;
        }
        try {
          families.push({ family, tables, saved: parseSave(await ctx.legacy.save(family)) });
        } catch (err) {
          families.push({ family, tables, error: errorMessage(err) });
        }
      }
      return legacyCheck(families);
    },
  },
  {
    name: 'bridge-ports',
    run: (ctx) => {
      const links = ctx.kernel.host.linkList();
      return bridgePortsCheck(
        ctx.networks.flatMap((n) => {
          if (n.bridge === null) return [];
          const bridge = links.find((l) => l.name === n.bridge);
          return [{ network: n.name, bridge: n.bridge, ports: bridge === undefined ? undefined : links.filter((l) => l.masterIndex === bridge.index).length }];
        }),
      );
    },
  },
  {
    name: 'stale-endpoints',
    run: (ctx) => {
      const names = new Map(ctx.networks.map((n) => [n.id, n.name]));
      const gone = ctx.endpoints.filter((e) => {
        const identity = ctx.kernel.netns.identity(parseNetnsRef(e.netns));
        // Records from before identities were kept have none: the namespace existing is all they say.
        return identity === undefined || (e.netnsId !== '' && identity !== e.netnsId);
      });
      return staleEndpointsCheck(gone.map((e) => ({ network: names.get(e.networkId) ?? e.networkId, container: e.container })), ctx.endpoints.length);
    },
  },
  // The agent (`ctnet daemon`: is it up, does it answer on its socket) and the cluster store (is
  // it reachable, does this host hold its lease) add their checks here, one entry each.
];

/**
 * Checks what on this host can break ctnet's networks: the state directory's trust, nft,
 * forwarding, br_netfilter, reverse-path filtering, other firewalls' forward drop policies and
 * ctnet's accept rules there, legacy iptables, each bridge's port count and endpoint records
 * whose namespace is gone. A check that cannot be made is a warning that says why.
 *
 * @example
 * ```ts
 * const report = await runDoctor({ stateDir: '/var/lib/ctnet' });
 * for (const c of report.checks) console.log(c.status, c.name, c.message);
 * if (!report.ok) process.exitCode = 1;
 * ```
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const state = readState(options.stateDir ?? process.env['CTNET_STATE_DIR'] ?? DEFAULT_STATE_DIR);
  const checks: DoctorCheck[] = [state.check];
  const legacy = options.legacy ?? new ExecLegacyIptables();
  const ctx: DoctorContext = {
    networks: state.networks,
    endpoints: state.endpoints,
    kernel: options.kernel ?? new HostKernel(),
    nft: options.nft ?? new ExecNftRunner(),
    foreign: options.foreign ?? new ForeignFirewall({ legacy }),
    legacy,
  };
  try {
    for (const c of HOST_CHECKS) {
      try {
        checks.push(await c.run(ctx));
      } catch (err) {
        checks.push({ name: c.name, status: 'warn', message: `could not be checked: ${errorMessage(err)}`, fix: 'run ctnet doctor as root' });
      }
    }
  } finally {
    // Only what it opened itself.
    if (options.kernel === undefined) ctx.kernel.close();
    if (options.foreign === undefined) ctx.foreign.close();
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

interface State {
  check: DoctorCheck;
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
}

/** The state directory's check, and its records when it can be trusted. */
function readState(dir: string): State {
  const none = { networks: [], endpoints: [] };
  const name = 'state-dir';
  if (!isAbsolute(dir)) return { check: { name, status: 'fail', message: `state directory "${dir}" is not an absolute path`, fix: 'give an absolute path' }, ...none };
  if (!existsSync(dir)) return { check: { name, status: 'ok', message: `${dir} does not exist yet: no network` }, ...none };
  const db = join(dir, STATE_DB_FILE);
  const uid = process.geteuid?.() ?? 0;
  try {
    assertPrivateDir(dir);
    // Only an existing database is checked: ensurePrivateFile would create a missing one.
    if (existsSync(db)) ensurePrivateFile(db);
  } catch (err) {
    return {
      check: {
        name,
        status: 'fail',
        message: `${errorMessage(err)}: the database decides what ctnet, as root, configures and deletes, so ctnet refuses it`,
        fix: `chown ${uid} ${dir} ${db}; chmod 0700 ${dir}; chmod 0600 ${db}`,
      },
      ...none,
    };
  }
  if (!existsSync(db)) return { check: { name, status: 'ok', message: `${dir} is private to uid ${uid}; no database yet: no network` }, ...none };
  let store: StateStore;
  try {
    store = StateStore.open(dir);
  } catch (err) {
    return { check: { name, status: 'fail', message: `cannot read the state database ${db}: ${errorMessage(err)}`, fix: 'restore the database from a backup, or move it away and recreate the networks' }, ...none };
  }
  try {
    const networks = store.listNetworks();
    const endpoints = store.listEndpoints();
    const counted = `${networks.length} network${networks.length === 1 ? '' : 's'}, ${endpoints.length} endpoint${endpoints.length === 1 ? '' : 's'}`;
    return { check: { name, status: 'ok', message: `${dir} is private to uid ${uid}: ${counted}` }, networks, endpoints };
  } finally {
    store.close();
  }
}
