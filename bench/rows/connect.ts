/**
 * Connect / disconnect latency of one container, N sequential attaches then N sequential detaches,
 * for ctnet (library in-process, CLI, CNI plugin, the native CNI client falling back to it; with
 * and without a published port) and what it is compared with: the seed article's recipe with one
 * `ip` process per step, the reference CNI plugins (`bridge`+`host-local`, `bridge`+`portmap`) and
 * netavark 1.4, all exec'd as a runtime execs them. Every network exists before the timing starts (ctnet's is created, the plugins' bridges
 * by one untimed warm-up attach), so each row times the steady state of a network in use.
 * @module
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ctnet } from '../../src/index.js';
import { startAgent } from '../../test/helpers/agent.js';
import { cniOverHttp } from '../agent.js';
import { type ConfList, ConfListRunner, type Json, type PluginConf, requestConfig } from '../cni.js';
import { checkPortPublished, longestStall, measureAddDel } from '../measure.js';
import { median } from '../stats.js';
import { chooseFirewall, Netavark, type NetavarkNetwork, networkOptions } from '../netavark.js';
import { NETAVARK, toolSkipReason } from '../tools.js';
import type { Group, GroupContext } from '../types.js';
import { type Cleanup, CNI_PLUGIN, cliSync, dropNewForeignTables, hostIp, ip, NATIVE_CNI_CLIENT, ownNetns, nftTables, runSync, withCleanup } from '../util.js';

/** Host ports published by the port rows: each row its own range, one port per container. */
const PORT_BASE = { lib: 24000, cni: 25000, portmap: 22000, netavark: 23000 } as const;

/** The verbs each kind of row uses for attach and detach. */
const VERBS = { ctnet: ['connect', 'disconnect'], cni: ['ADD', 'DEL'], netavark: ['setup', 'teardown'] } as const;

function addRows(ctx: GroupContext, id: string, name: string, s: { add: number[]; del: number[] }, verbs: readonly [string, string], note?: string): void {
  ctx.add({ id: `${id}.add`, name: `${name}: ${verbs[0]}`, unit: 'ms', samples: s.add, ...(note === undefined ? {} : { note }) });
  ctx.add({ id: `${id}.del`, name: `${name}: ${verbs[1]}`, unit: 'ms', samples: s.del });
}

/** After a ctnet row: its nftables table must be gone with its last network. */
function checkCtnetTableGone(ctx: GroupContext, row: string): void {
  if (nftTables().includes('inet ctnet')) ctx.note(`${row}: table inet ctnet still present after the row's last network was removed`);
}

/** Untimed attach/detach pairs before the library rows. */
const WARMUP = 20;

async function libraryRow(ctx: GroupContext, withPort: boolean): Promise<void> {
  const id = withPort ? 'connect.lib-port' : 'connect.lib';
  const net = withPort ? 'blibp' : 'blib';
  await withCleanup(async (c) => {
    const ct = Ctnet.open({ stateDir: join(ctx.dir, net) });
    c.push('close library', () => { ct.close(); });
    await ct.createNetwork({ name: net, subnets: [withPort ? '10.109.0.0/16' : '10.101.0.0/16'], bridge: `bb-${net}` });
    c.push(`remove network ${net}`, () => ct.removeNetwork(net));
    const add = (i: number, ns: string): Promise<unknown> =>
      ct.connect(net, ns, withPort ? { ports: [{ protocol: 'tcp', hostPort: PORT_BASE.lib + i, containerPort: 80 }] } : {});
    const del = (_i: number, ns: string): Promise<void> => ct.disconnect(net, ns);
    // A library lives in a long-running process: time it after V8 has compiled the hot paths, as
    // the steady state it runs in (a cold process is what the CLI and CNI rows measure).
    await measureAddDel({ n: WARMUP, prefix: withPort ? 'clpw' : 'clw', c, add, del });
    const s = await measureAddDel({
      n: ctx.n,
      prefix: withPort ? 'clp' : 'cl',
      c,
      add,
      del,
      ...(withPort ? { verify: () => { checkPortPublished(PORT_BASE.lib); } } : {}),
    });
    addRows(ctx, id, withPort ? 'ctnet library, 1 port' : 'ctnet library', s, VERBS.ctnet, `in-process, one Ctnet instance, after ${WARMUP} untimed attaches`);
    if (withPort) return;
    // What a resident agent's other tasks (DNS, API) wait for: separate rounds, as the probe costs CPU.
    const stall = { add: [] as number[], del: [] as number[] };
    await measureAddDel({
      n: ctx.n,
      prefix: 'cls',
      c,
      add: async (i, ns) => stall.add.push(await longestStall(() => add(i, ns))),
      del: async (i, ns) => stall.del.push(await longestStall(() => del(i, ns))),
    });
    addRows(ctx, 'connect.lib-stall', 'ctnet library, longest event-loop stall', stall, VERBS.ctnet, 'the longest gap between event-loop turns during one operation');
  });
  checkCtnetTableGone(ctx, id);
}

async function cliRow(ctx: GroupContext): Promise<void> {
  const state = join(ctx.dir, 'cli');
  await withCleanup(async (c) => {
    cliSync(state, ['network', 'create', 'bcli', '--subnet', '10.102.0.0/16', '--bridge', 'bb-cli']);
    c.push('ctnet network rm bcli', () => cliSync(state, ['network', 'rm', 'bcli']));
    const s = await measureAddDel({
      n: ctx.n,
      prefix: 'cc',
      c,
      add: (_i, ns) => cliSync(state, ['connect', 'bcli', ns]),
      del: (_i, ns) => cliSync(state, ['disconnect', 'bcli', ns]),
    });
    addRows(ctx, 'connect.cli', 'ctnet CLI', s, VERBS.ctnet, 'one `ctnet` process per operation');
  });
  checkCtnetTableGone(ctx, 'connect.cli');
}

/** A ctnet CNI row: which executable plays `type: ctnet`, on which network, with or without a port. */
interface CniRowKind {
  id: string;
  name: string;
  net: string;
  subnet: string;
  /** Prefix of the row's namespace names. */
  prefix: string;
  withPort: boolean;
  /** The Node plugin, or the native client (native/cni/ctnet-cni.c) that npm builds beside the addon. */
  native: boolean;
  /** With an agent (`ctnet daemon`) on the client's socket, serving the row's state directory. */
  agent: boolean;
  note: string;
}

const CNI_ROWS = {
  node: { id: 'connect.cni', name: 'ctnet-cni', net: 'bcni', subnet: '10.103.0.0/16', prefix: 'cn', withPort: false, native: false, agent: false, note: "exec'd as a runtime does; network made by an untimed first ADD" },
  port: { id: 'connect.cni-port', name: 'ctnet-cni, 1 port', net: 'bcnip', subnet: '10.110.0.0/16', prefix: 'cnp', withPort: true, native: false, agent: false, note: "exec'd as a runtime does; network made by an untimed first ADD" },
  nativeFallback: {
    id: 'connect.cni-native-fallback',
    name: 'ctnet native client, agent down (fallback)',
    net: 'bcnin',
    subnet: '10.120.0.0/16',
    prefix: 'cnn',
    withPort: false,
    native: true,
    agent: false,
    note: 'build/Release/ctnet-cni finds no agent on CTNET_SOCKET and execs ctnet-cni.js',
  },
  nativeAgent: {
    id: 'connect.cni-agent',
    name: 'ctnet native client, agent up',
    net: 'bcnia',
    subnet: '10.121.0.0/16',
    prefix: 'cna',
    withPort: false,
    native: true,
    agent: true,
    note: "build/Release/ctnet-cni exec'd as a runtime does, served by ctnet daemon on CTNET_SOCKET",
  },
} as const satisfies Record<string, CniRowKind>;

async function ctnetCniRow(ctx: GroupContext, kind: CniRowKind): Promise<void> {
  if (kind.native && !existsSync(NATIVE_CNI_CLIENT)) {
    ctx.skip(kind.id, `${NATIVE_CNI_CLIENT} is not built (npm run build compiles it)`);
    return;
  }
  const { net, withPort } = kind;
  const stateDir = join(ctx.dir, net);
  const plugin: PluginConf = { type: 'ctnet', bridge: `bb-${net}`, subnets: [kind.subnet], stateDir, capabilities: { portMappings: true } };
  const list: ConfList = { cniVersion: '1.0.0', name: net, plugins: [plugin] };
  // Without the agent, a socket path nobody listens on: the native client falls back at once.
  const socket = join(ctx.dir, kind.agent ? `${net}-agent/ctnet.sock` : `${net}-no-agent.sock`);
  const runner = new ConfListRunner(list, { ctnet: kind.native ? NATIVE_CNI_CLIENT : CNI_PLUGIN }, { CTNET_SOCKET: socket });
  const base = withPort ? PORT_BASE.cni : 0;
  await withCleanup(async (c) => {
    const agent = kind.agent ? await startAgent(stateDir, { socket }) : undefined;
    if (agent !== undefined) c.push('stop the agent', () => agent.stop());
    c.push(`remove network ${net}`, async () => {
      const ct = Ctnet.open({ stateDir });
      try {
        if (ct.listNetworks().some((x) => x.name === net)) await ct.removeNetwork(net);
      } finally {
        ct.close();
      }
    });
    warmUp(c, (ns) => runner.add(att(ns, 'warm', withPort ? base + 999 : 0)), (ns) => { runner.del(att(ns, 'warm', 0)); }, `warm${net}`);
    const s = await measureAddDel({
      n: ctx.n,
      prefix: kind.prefix,
      c,
      add: (i, ns) => runner.add(att(ns, `${net}-${i}`, withPort ? base + i : 0)),
      del: (i, ns) => { runner.del(att(ns, `${net}-${i}`, 0)); },
      ...(withPort ? { verify: () => { checkPortPublished(base); } } : {}),
    });
    addRows(ctx, kind.id, kind.name, s, VERBS.cni, kind.note);
    if (agent !== undefined) await agentBreakdown(ctx, kind, list, socket, s, c);
  });
  checkCtnetTableGone(ctx, kind.id);
}

/**
 * Where an ADD and a DEL through the native client and the agent spend their time: the same calls
 * sent straight to the agent's socket give the HTTP round trip (without the client's exec) and the
 * agent's own time (its Server-Timing header); the rest of the client row is the client's exec.
 */
async function agentBreakdown(ctx: GroupContext, kind: CniRowKind, list: ConfList, socket: string, client: { add: number[]; del: number[] }, c: Cleanup): Promise<void> {
  const plugin = list.plugins[0];
  if (plugin === undefined) return;
  const server = { add: [] as number[], del: [] as number[] };
  const results = new Map<number, Json>();
  const call = async (command: 'ADD' | 'DEL', i: number, ns: string): Promise<number> => {
    const a = att(ns, `${kind.net}-h${i}`, 0);
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: a.containerId, CNI_NETNS: a.netns, CNI_IFNAME: a.ifname, CNI_PATH: '/usr/lib/cni' };
    const r = await cniOverHttp(socket, env, JSON.stringify(requestConfig(list, plugin, a, results.get(i))));
    if (r.exit !== 0) throw new Error(`${command} over the agent's socket exited ${r.exit}: ${r.stdout}`);
    if (command === 'ADD') results.set(i, JSON.parse(r.stdout) as Json);
    server[command === 'ADD' ? 'add' : 'del'].push(r.serverMs);
    return r.roundTripMs;
  };
  const http = await measureAddDel({ n: ctx.n, prefix: `${kind.prefix}h`, c, add: (i, ns) => call('ADD', i, ns).then(() => undefined), del: (i, ns) => call('DEL', i, ns).then(() => undefined) });
  addRows(ctx, `${kind.id}-http`, `${kind.name}, HTTP straight to the agent`, http, VERBS.cni, 'the same calls as POST /v1/cni from this process: no client exec');
  addRows(ctx, `${kind.id}-server`, `${kind.name}, the agent's own time`, server, VERBS.cni, 'Server-Timing of those calls: the engine and the kernel');
  for (const verb of ['add', 'del'] as const) {
    const [total, round, own] = [median(client[verb]), median(http[verb]), median(server[verb])];
    ctx.note(`${kind.id} ${verb.toUpperCase()} median ${total.toFixed(1)} ms: client exec and start ${(total - round).toFixed(1)}, socket and HTTP ${(round - own).toFixed(1)}, agent (engine and kernel) ${own.toFixed(1)}`);
  }
}

/** The CNI attachment of container `id` in named namespace `ns`, with one port when `hostPort` > 0. */
function att(ns: string, id: string, hostPort: number): { containerId: string; netns: string; ifname: string; capabilityArgs: Record<string, unknown> } {
  return {
    containerId: id,
    netns: `/run/netns/${ns}`,
    ifname: 'eth0',
    capabilityArgs: hostPort > 0 ? { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] } : {},
  };
}

/**
 * One untimed attach that stays for the whole row, so the network (bridge, firewall chains) exists
 * before the first timed sample: as with ctnet's networks, and as on a host that runs containers.
 */
function warmUp(c: Cleanup, add: (ns: string) => unknown, del: (ns: string) => unknown, ns: string): void {
  ownNetns(c, [ns]);
  add(ns);
  c.push(`detach ${ns}`, () => del(ns));
}

function seedRow(ctx: GroupContext): Promise<void> {
  return withCleanup(async (c) => {
    ip('link', 'add', 'bb-seed', 'type', 'bridge');
    c.push('delete bridge bb-seed', () => { ip('link', 'del', 'bb-seed'); });
    ip('addr', 'add', '10.104.0.1/16', 'dev', 'bb-seed');
    ip('link', 'set', 'bb-seed', 'up');
    const s = await measureAddDel({
      n: ctx.n,
      prefix: 'cs',
      c,
      add: (i, ns) => {
        const host = `sv${i}`;
        ip('link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}p`);
        ip('link', 'set', `${host}p`, 'netns', ns);
        ip('-n', ns, 'link', 'set', `${host}p`, 'name', 'eth0');
        ip('-n', ns, 'addr', 'add', `${hostIp('10.104', i + 2)}/16`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('link', 'set', host, 'master', 'bb-seed');
        ip('link', 'set', host, 'up');
        ip('-n', ns, 'route', 'add', 'default', 'via', '10.104.0.1');
      },
      del: (i) => { ip('link', 'del', `sv${i}`); },
    });
    addRows(ctx, 'connect.seed', 'seed recipe, one `ip` per step', s, VERBS.ctnet, '9 `ip` processes per connect, 1 per disconnect');
  });
}

/** The reference bridge plugin's config as podman 4.x writes it for a CNI network. */
function bridgePlugin(bridge: string, subnet: string, gateway: string, dataDir: string): PluginConf {
  return {
    type: 'bridge',
    bridge,
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet, gateway }]], dataDir },
  };
}

async function referenceRow(ctx: GroupContext, withPortmap: boolean): Promise<void> {
  const reason = toolSkipReason('reference CNI plugins') ?? toolSkipReason('iptables');
  const id = withPortmap ? 'connect.ref-portmap' : 'connect.ref-bridge';
  if (reason !== undefined) {
    ctx.skip(id, reason);
    return;
  }
  const bridge = withPortmap ? 'bb-refpm' : 'bb-ref';
  const subnet = withPortmap ? '10.106' : '10.105';
  const dataDir = join(ctx.dir, `host-local-${bridge}`);
  mkdirSync(dataDir, { recursive: true });
  const plugins: PluginConf[] = [bridgePlugin(bridge, `${subnet}.0.0/16`, `${subnet}.0.1`, dataDir)];
  if (withPortmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  const runner = new ConfListRunner({ cniVersion: '1.0.0', name: withPortmap ? 'brefpm' : 'bref', plugins });
  const base = withPortmap ? PORT_BASE.portmap : 0;
  await withCleanup(async (c) => {
    c.push(`delete bridge ${bridge}`, () => runSync('ip', ['link', 'del', bridge]));
    warmUp(c, (ns) => runner.add(att(ns, `warm-${bridge}`, withPortmap ? base + 999 : 0)), (ns) => { runner.del(att(ns, `warm-${bridge}`, 0)); }, `warm${bridge}`);
    const s = await measureAddDel({
      n: ctx.n,
      prefix: withPortmap ? 'crp' : 'cr',
      c,
      add: (i, ns) => runner.add(att(ns, `${bridge}-${i}`, withPortmap ? base + i : 0)),
      del: (i, ns) => { runner.del(att(ns, `${bridge}-${i}`, 0)); },
      ...(withPortmap ? { verify: () => { checkPortPublished(base); } } : {}),
    });
    const name = withPortmap ? 'CNI bridge+portmap, 1 port' : 'CNI bridge+host-local';
    addRows(ctx, id, name, s, VERBS.cni, 'reference plugins (Debian), ipMasq+hairpin as podman configures them');
  });
}

async function netavarkRow(ctx: GroupContext, withPort: boolean): Promise<void> {
  const id = withPort ? 'connect.netavark-port' : 'connect.netavark';
  const reason = toolSkipReason('netavark') ?? toolSkipReason('iptables');
  if (reason !== undefined) {
    ctx.skip(id, reason);
    return;
  }
  const base = withPort ? '10.108' : '10.107';
  const net: NetavarkNetwork = { name: withPort ? 'bnvp' : 'bnv', bridge: withPort ? 'bb-nvp' : 'bb-nv', subnet: `${base}.0.0/16`, gateway: `${base}.0.1` };
  const configDir = join(ctx.dir, `netavark-${net.name}`);
  mkdirSync(configDir, { recursive: true });
  const ports = (i: number): { hostPort: number; containerPort: number }[] => (withPort ? [{ hostPort: PORT_BASE.netavark + i, containerPort: 80 }] : []);
  const opts = (i: number, container: string): string => networkOptions(net, container, hostIp(base, i + 2), ports(i));
  await withCleanup(async (c) => {
    c.push(`delete bridge ${net.bridge}`, () => runSync('ip', ['link', 'del', net.bridge]));
    // The anchor container keeps the bridge: netavark deletes it with the network's last container.
    const anchor = `anchor${net.name}`;
    ownNetns(c, [anchor]);
    const anchorOpts = networkOptions(net, anchor, hostIp(base, 60000), withPort ? [{ hostPort: PORT_BASE.netavark + 999, containerPort: 80 }] : []);
    const { firewall, why } = chooseFirewall((fw) => {
      try {
        new Netavark(configDir, fw).setup(`/run/netns/${anchor}`, anchorOpts);
        return undefined;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    });
    const nv = new Netavark(configDir, firewall);
    c.push(`teardown ${anchor}`, () => { nv.teardown(`/run/netns/${anchor}`, anchorOpts); });
    if (!withPort) ctx.note(`netavark ${netavarkVersion()}: ${why}; one anchor container keeps its bridge (netavark deletes the bridge with the last container)`);
    const s = await measureAddDel({
      n: ctx.n,
      prefix: withPort ? 'cvp' : 'cv',
      c,
      add: (i, ns) => { nv.setup(`/run/netns/${ns}`, opts(i, ns)); },
      del: (i, ns) => { nv.teardown(`/run/netns/${ns}`, opts(i, ns)); },
      ...(withPort ? { verify: () => { checkPortPublished(PORT_BASE.netavark); } } : {}),
    });
    addRows(ctx, id, withPort ? `netavark, 1 port (${firewall})` : `netavark (${firewall})`, s, VERBS.netavark, 'static_ips given, as podman does');
  });
}

function netavarkVersion(): string {
  const r = runSync(NETAVARK, ['--version']);
  return r.stdout.trim().replace(/^netavark\s+/, '') || 'unknown version';
}

export const connectGroup: Group = {
  name: 'connect',
  describe: 'connect / disconnect latency, N sequential attaches then N sequential detaches',
  async run(ctx) {
    const tablesBefore = nftTables();
    try {
      await ctx.attempt('connect.lib', () => libraryRow(ctx, false));
      await ctx.attempt('connect.cli', () => cliRow(ctx));
      await ctx.attempt('connect.cni', () => ctnetCniRow(ctx, CNI_ROWS.node));
      await ctx.attempt('connect.cni-native-fallback', () => ctnetCniRow(ctx, CNI_ROWS.nativeFallback));
      await ctx.attempt('connect.cni-agent', () => ctnetCniRow(ctx, CNI_ROWS.nativeAgent));
      await ctx.attempt('connect.seed', () => seedRow(ctx));
      await ctx.attempt('connect.ref-bridge', () => referenceRow(ctx, false));
      await ctx.attempt('connect.netavark', () => netavarkRow(ctx, false));
      await ctx.attempt('connect.lib-port', () => libraryRow(ctx, true));
      await ctx.attempt('connect.cni-port', () => ctnetCniRow(ctx, CNI_ROWS.port));
      await ctx.attempt('connect.ref-portmap', () => referenceRow(ctx, true));
      await ctx.attempt('connect.netavark-port', () => netavarkRow(ctx, true));
    } finally {
      // iptables-nft tables the reference plugins and netavark leave (empty chains): gone before the next group.
      const left = dropNewForeignTables(tablesBefore);
      if (left.length > 0) ctx.note(`connect: ctnet left ${left.join(', ')} behind`);
    }
  },
};
