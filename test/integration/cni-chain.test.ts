/**
 * ctnet-cni chained with Debian's reference plugins (package containernetworking-plugins, in
 * /usr/lib/cni): tuning, bandwidth, portmap and firewall. A small conflist executor in this file
 * plays the runtime (SPEC.md section 3): it finds each plugin by `type` in CNI_PATH, derives each
 * request config (name and cniVersion from the list, runtimeConfig from the capabilities, prevResult),
 * runs ADD in order and DEL in reverse with the final ADD result. Each plugin's effect is checked
 * with independent tools (`ip`, `tc`, `iptables`, `nft`, TCP). A reference plugin that is missing,
 * or a kernel feature it needs, skips its test with the reason printed. The configuration list
 * README.md documents runs here too, read from the file: it must publish a port exactly once.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { accessSync, constants, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import {
  CNI_PLUGIN,
  cli,
  type CniExecResult,
  ctnetStateDir,
  tempStateDir,
  type IpAddrInfo,
  ipJson,
  type IpLink,
  newNetns,
  nsExec,
  pluginExec,
  sandboxSkipReason,
  sh,
  tcpProbe,
  tcpRequest,
  tcpServer,
  withUplink,
} from '../helpers/sandbox.js';
import { readmeConflist } from '../helpers/podman.js';

const skip = sandboxSkipReason();

const REFERENCE_DIR = '/usr/lib/cni';

/** `family name` of every nftables table. */
async function nftTables(): Promise<string[]> {
  const doc = JSON.parse(await sh('nft', ['-j', 'list', 'tables'])) as { nftables: { table?: { family: string; name: string } }[] };
  return doc.nftables.flatMap((i) => (i.table === undefined ? [] : [`${i.table.family} ${i.table.name}`]));
}

// portmap and firewall 1.1.1 drive iptables, which (as iptables-nft) makes `ip nat`, `ip filter`,
// `ip6 ...` tables and leaves their empty chains behind after DEL. Remove the tables this file
// made, so that later test files in the same sandbox start from what they would have found.
let tablesBefore: string[] | undefined;
before(async () => {
  if (skip === undefined) tablesBefore = await nftTables();
});
after(async () => {
  if (tablesBefore === undefined) return;
  const had = new Set(tablesBefore);
  for (const table of await nftTables()) {
    const [family, name] = table.split(' ');
    if (had.has(table) || (family !== 'ip' && family !== 'ip6') || name === undefined) continue;
    await sh('nft', ['delete', 'table', family, name]);
  }
});

type Json = Record<string, unknown>;

/** One plugin of a conflist: its `type`, its `capabilities`, and its own keys. */
interface PluginConf extends Json {
  type: string;
  capabilities?: Record<string, boolean>;
}

/** A network configuration list (SPEC.md section 1). */
interface NetConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

/** The per-attachment parameters a runtime has (SPEC.md "Attachment Parameters"). */
interface Attachment {
  containerId: string;
  /** Path of the network namespace. */
  netns: string;
  ifname: string;
  /** Capability arguments, e.g. `{ portMappings: [...] }`. */
  capabilityArgs: Json;
}

interface ResultJson {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

interface LinkDetail extends IpLink {
  linkinfo?: { info_kind?: string };
}

interface TcQdisc {
  kind: string;
  handle?: string;
  dev?: string;
}

/** A plugin run by the executor, for messages. */
interface PluginRun {
  type: string;
  command: string;
  run: CniExecResult;
}

/**
 * A CNI_PATH for the tests: a directory holding `ctnet` (a link to bin/ctnet-cni.js, which is how
 * an admin installs it), followed by the reference plugins' directory.
 */
function cniPath(t: TestContext): string {
  const dir = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? '/tmp', 'cnibin-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  symlinkSync(CNI_PLUGIN, join(dir, 'ctnet'));
  return `${dir}:${REFERENCE_DIR}`;
}

/** SPEC.md section 3, step 1: the executable named by `type`, searched in CNI_PATH. */
function findPlugin(path: string, type: string): string {
  for (const dir of path.split(':')) {
    const file = join(dir, type);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`plugin "${type}" not found in CNI_PATH ${path}`);
}

/** SPEC.md "Deriving request configuration from plugin configuration". */
function requestConfig(list: NetConfList, plugin: PluginConf, att: Attachment | undefined, prevResult: ResultJson | undefined): Json {
  const { capabilities, ...rest } = plugin;
  const out: Json = { ...rest, cniVersion: list.cniVersion, name: list.name };
  if (att !== undefined) {
    const runtimeConfig = Object.fromEntries(Object.entries(att.capabilityArgs).filter(([key]) => capabilities?.[key] === true));
    if (Object.keys(runtimeConfig).length > 0) out['runtimeConfig'] = runtimeConfig;
  }
  if (prevResult !== undefined) out['prevResult'] = prevResult;
  return out;
}

function attachmentEnv(command: string, att: Attachment, path: string): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: att.containerId, CNI_NETNS: att.netns, CNI_IFNAME: att.ifname, CNI_PATH: path };
}

function describe(r: PluginRun): string {
  return `${r.type} ${r.command}: exit ${r.run.code}, stdout ${r.run.stdout.trim()}, stderr ${r.run.stderr.trim()}`;
}

/** The conflist executor: the runtime's side of ADD, CHECK and DEL. */
class Runtime {
  readonly runs: PluginRun[] = [];
  constructor(readonly path: string) {}

  async #exec(plugin: PluginConf, command: string, env: Record<string, string>, conf: Json): Promise<CniExecResult> {
    const run = await pluginExec(findPlugin(this.path, plugin.type), [], env, JSON.stringify(conf));
    this.runs.push({ type: plugin.type, command, run });
    return run;
  }

  /** ADD every plugin in order, each getting the previous one's result; halts on the first error. */
  async add(list: NetConfList, att: Attachment): Promise<ResultJson> {
    let prev: ResultJson | undefined;
    for (const plugin of list.plugins) {
      const run = await this.#exec(plugin, 'ADD', attachmentEnv('ADD', att, this.path), requestConfig(list, plugin, att, prev));
      assert.equal(run.code, 0, describe(this.runs[this.runs.length - 1] as PluginRun));
      prev = JSON.parse(run.stdout) as ResultJson;
    }
    assert.ok(prev !== undefined, 'a conflist has at least one plugin');
    return prev;
  }

  /**
   * CHECK every plugin in order with the final ADD result. `known` may excuse a failure of a
   * reference plugin by returning the reason, which is printed; ctnet's failures are never excused.
   */
  async check(list: NetConfList, att: Attachment, result: ResultJson, known?: (r: PluginRun) => string | undefined): Promise<string[]> {
    const excused: string[] = [];
    for (const plugin of list.plugins) {
      const run = await this.#exec(plugin, 'CHECK', attachmentEnv('CHECK', att, this.path), requestConfig(list, plugin, att, result));
      const last = this.runs[this.runs.length - 1] as PluginRun;
      const why = run.code !== 0 && plugin.type !== 'ctnet' ? known?.(last) : undefined;
      if (why !== undefined) excused.push(`${plugin.type} CHECK failed, excused: ${why}`);
      else assert.equal(run.code, 0, describe(last));
    }
    return excused;
  }

  /** DEL every plugin in reverse order, each with the final ADD result; halts on the first error. */
  async del(list: NetConfList, att: Attachment, result: ResultJson): Promise<void> {
    for (const plugin of [...list.plugins].reverse()) {
      const run = await this.#exec(plugin, 'DEL', attachmentEnv('DEL', att, this.path), requestConfig(list, plugin, att, result));
      assert.equal(run.code, 0, describe(this.runs[this.runs.length - 1] as PluginRun));
    }
  }

  /** The highest version every plugin of the list speaks, as a runtime picks it (VERSION). */
  async commonVersion(types: readonly string[], wanted: readonly string[]): Promise<string | undefined> {
    let common = [...wanted];
    for (const type of types) {
      const run = await pluginExec(findPlugin(this.path, type), [], { CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '1.0.0' }));
      assert.equal(run.code, 0, `${type} VERSION: ${run.stdout} ${run.stderr}`);
      const supported = (JSON.parse(run.stdout) as { supportedVersions: string[] }).supportedVersions;
      common = common.filter((v) => supported.includes(v));
    }
    return common.sort().pop();
  }
}

/**
 * portmap 1.1.1 fails CHECK for a container without an IPv6 address: it always looks for the ip6tables
 * DNAT chain it never made (containernetworking/plugins#819, fixed in later releases).
 */
function portmapIpv6CheckBug(r: PluginRun): string | undefined {
  if (r.type !== 'portmap' || !/could not check ipv6 dnat: chain CNI-DN-\w+ not found/.test(r.run.stdout)) return undefined;
  return 'portmap 1.1.1 looks for an IPv6 DNAT chain of an IPv4-only container (containernetworking/plugins#819)';
}

/** Run the chain's CHECK, printing any excused reference-plugin failure. */
async function checkChain(t: TestContext, rt: Runtime, list: NetConfList, att: Attachment, res: ResultJson): Promise<void> {
  for (const line of await rt.check(list, att, res, portmapIpv6CheckBug)) t.diagnostic(line);
}

/** Why a reference plugin cannot run here, or undefined when it can. */
function missingPlugin(type: string): string | undefined {
  try {
    accessSync(join(REFERENCE_DIR, type), constants.X_OK);
    return undefined;
  } catch {
    return `reference plugin "${type}" is not installed in ${REFERENCE_DIR} (Debian package containernetworking-plugins)`;
  }
}

/** Why iptables (portmap's and firewall's backend in plugins 1.1.1) is unusable, or undefined. */
async function iptablesUnusable(): Promise<string | undefined> {
  try {
    await sh('iptables', ['-w', '-t', 'nat', '-S']);
    await sh('iptables', ['-w', '-t', 'filter', '-S']);
    return undefined;
  } catch (err) {
    return `iptables is not usable here: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

/** Why an ifb device (bandwidth's egress shaping) cannot be made, or undefined. */
async function ifbUnusable(): Promise<string | undefined> {
  const name = `ifbprobe${process.pid % 10000}`;
  try {
    await sh('ip', ['link', 'add', name, 'type', 'ifb']);
    await sh('ip', ['link', 'del', name]);
    return undefined;
  } catch (err) {
    return `the kernel cannot make ifb devices (module ifb), which bandwidth needs: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}

/** Skip the test with the reason printed, when there is one. True if skipped. */
function skipped(t: TestContext, reasons: readonly (string | undefined)[]): boolean {
  const why = reasons.filter((r): r is string => r !== undefined);
  if (why.length === 0) return false;
  t.diagnostic(`skipped: ${why.join('; ')}`);
  t.skip(why.join('; '));
  return true;
}

/** The ctnet element of a list: network `name` on 10.88.N.0/24, in the test's state dir. */
function ctnetPlugin(stateDir: string, n: number): PluginConf {
  return { type: 'ctnet', subnets: [`10.88.${n}.0/24`], stateDir, capabilities: { ips: true, mac: true } };
}

/** The container interface of a result and the host veth that ADD put before it. */
function resultLinks(res: ResultJson): { container: string; containerIp: string; hostVeth: string } {
  const ifs = res.interfaces ?? [];
  const index = ifs.findIndex((i) => i.sandbox !== undefined && i.sandbox !== '');
  const ip = (res.ips ?? []).find((i) => i.interface === index);
  const hostVeth = ifs[index - 1]?.name;
  assert.ok(index >= 0 && ip !== undefined && hostVeth !== undefined, `result ${JSON.stringify(res)}`);
  return { container: ifs[index]?.name ?? '', containerIp: ip.address.split('/')[0] ?? '', hostVeth };
}

async function hostLinks(): Promise<LinkDetail[]> {
  return ipJson<LinkDetail[]>(['-d', 'link', 'show']);
}

async function qdiscs(dev?: string): Promise<TcQdisc[]> {
  const out = await sh('tc', ['-j', 'qdisc', 'show', ...(dev === undefined ? [] : ['dev', dev])]);
  return (out.trim() === '' ? [] : JSON.parse(out)) as TcQdisc[];
}

async function ruleset(): Promise<string> {
  return sh('nft', ['-j', 'list', 'ruleset']);
}

/**
 * `family name` of every nftables table with a rule or a set/map element that names `port`: the
 * tables that publish it. iptables-nft (portmap's backend) keeps its rules there too.
 */
async function tablesNamingPort(port: number): Promise<string[]> {
  type Item = { rule?: { family: string; table: string; expr?: unknown }; map?: { family: string; table: string; elem?: unknown }; set?: { family: string; table: string; elem?: unknown } };
  const doc = JSON.parse(await ruleset()) as { nftables: Item[] };
  const names = new RegExp(`\\b${port}\\b`);
  const tables = doc.nftables.flatMap((i) => {
    const entry = i.rule ?? i.map ?? i.set;
    const content = i.rule?.expr ?? i.map?.elem ?? i.set?.elem;
    return entry !== undefined && content !== undefined && names.test(JSON.stringify(content)) ? [`${entry.family} ${entry.table}`] : [];
  });
  return [...new Set(tables)].sort();
}

/** The sysctl as the container sees it. */
async function containerSysctl(ns: string, key: string): Promise<string> {
  return (await nsExec(ns, 'sysctl', ['-n', key])).trim();
}

async function ctnetLs(stateDir: string): Promise<unknown[]> {
  const r = await cli(stateDir, ['--json', 'ls']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as unknown[];
}

/** What every chain must leave behind after DEL: no veth, no ifb, no qdisc, no rule for the container. */
async function assertCleanAfterDel(stateDir: string, res: ResultJson, extra: readonly string[] = []): Promise<void> {
  const { hostVeth, containerIp } = resultLinks(res);
  const links = await hostLinks();
  assert.ok(!links.some((l) => l.ifname === hostVeth), `host veth ${hostVeth} is gone`);
  assert.deepEqual(links.filter((l) => l.linkinfo?.info_kind === 'ifb').map((l) => l.ifname), [], 'no ifb device is left');
  assert.deepEqual((await qdiscs()).filter((q) => q.kind === 'tbf' || q.kind === 'ingress'), [], 'no tbf or ingress qdisc is left');
  const rules = await ruleset();
  for (const s of [`"${containerIp}"`, ...extra]) assert.ok(!rules.includes(s), `no nftables rule or element mentions ${s}`);
  assert.deepEqual(await ctnetLs(stateDir), [], 'ctnet ls shows nothing');
}

/** State dir, namespace, runtime and attachment: the start of every chain test. */
async function setupChain(t: TestContext, containerId: string): Promise<{ stateDir: string; ns: string; rt: Runtime; att: Attachment }> {
  const stateDir = ctnetStateDir(t);
  const ns = await newNetns(t, 'h');
  const rt = new Runtime(cniPath(t));
  const att: Attachment = { containerId, netns: `/run/netns/${ns}`, ifname: 'eth0', capabilityArgs: {} };
  return { stateDir, ns, rt, att };
}

/** The conflist's cniVersion: the highest both ctnet and the reference plugins speak. */
async function listVersion(t: TestContext, rt: Runtime, types: readonly string[]): Promise<string> {
  const v = await rt.commonVersion(['ctnet', ...types], ['1.0.0', '1.1.0']);
  assert.ok(v !== undefined, `ctnet and ${types.join(', ')} share no CNI version`);
  t.diagnostic(`conflist cniVersion ${v} (the highest that ctnet and ${types.join(', ')} all speak)`);
  return v;
}

test('ctnet + tuning: the sysctl and the MAC are applied inside the container', { skip }, async (t) => {
  if (skipped(t, [missingPlugin('tuning')])) return;
  const { stateDir, ns, rt, att } = await setupChain(t, 'chain-tuning');
  const dataDir = tempStateDir(t);
  const def = await containerSysctl(ns, 'net.ipv4.conf.default.rp_filter');
  const want = def === '1' ? '2' : '1';
  const mac = '02:42:0a:58:33:07';
  const list: NetConfList = {
    cniVersion: await listVersion(t, rt, ['tuning']),
    name: 'chtun',
    plugins: [ctnetPlugin(stateDir, 51), { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.rp_filter': want }, mac, dataDir }],
  };
  const res = await rt.add(list, att);
  const eth0 = (await ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', 'eth0'], ns))[0];
  assert.equal(eth0?.address, mac, 'tuning set the MAC');
  assert.equal(res.interfaces?.find((i) => i.name === 'eth0')?.mac, mac, 'and reported it in the result');
  assert.equal(await containerSysctl(ns, 'net.ipv4.conf.eth0.rp_filter'), want, 'tuning set the sysctl');
  assert.equal(
    (await ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', 'eth0'], ns))[0]?.addr_info.find((a) => a.family === 'inet')?.local,
    resultLinks(res).containerIp,
    'ctnet\'s address is still there',
  );
  // ctnet's CHECK must accept what a later plugin changed (SPEC.md CHECK: "allow for a later chained plugin to have modified networking resources").
  await checkChain(t, rt, list, att, res);
  await rt.del(list, att, res);
  await assertCleanAfterDel(stateDir, res);
});

test('ctnet + bandwidth: tbf and ingress qdiscs shape the host veth, and DEL removes them', { skip }, async (t) => {
  if (skipped(t, [missingPlugin('bandwidth'), await ifbUnusable()])) return;
  const { stateDir, rt, att } = await setupChain(t, 'chain-bw');
  const list: NetConfList = {
    cniVersion: await listVersion(t, rt, ['bandwidth']),
    name: 'chbw',
    plugins: [ctnetPlugin(stateDir, 52), { type: 'bandwidth', ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 10_000_000, egressBurst: 1_000_000 }],
  };
  const res = await rt.add(list, att);
  const { hostVeth } = resultLinks(res);
  const onVeth = (await qdiscs(hostVeth)).map((q) => q.kind);
  assert.ok(onVeth.includes('tbf'), `tbf on ${hostVeth} shapes traffic to the container: ${onVeth.join(', ')}`);
  assert.ok(onVeth.includes('ingress'), `ingress on ${hostVeth} redirects traffic from the container: ${onVeth.join(', ')}`);
  const ifbs = (await hostLinks()).filter((l) => l.linkinfo?.info_kind === 'ifb').map((l) => l.ifname);
  assert.equal(ifbs.length, 1, `one ifb device: ${ifbs.join(', ')}`);
  assert.ok((await qdiscs(ifbs[0])).some((q) => q.kind === 'tbf'), 'tbf on the ifb device shapes traffic from the container');
  await checkChain(t, rt, list, att, res);
  await rt.del(list, att, res);
  await assertCleanAfterDel(stateDir, res);
});

test('ctnet + portmap: portmap\'s own DNAT reaches the container through ctnet\'s rules', { skip }, async (t) => {
  if (skipped(t, [missingPlugin('portmap'), await iptablesUnusable()])) return;
  const { stateDir, ns, rt, att } = await setupChain(t, 'chain-pm');
  const { world, uplinkIp } = await withUplink(t);
  att.capabilityArgs = { portMappings: [{ hostPort: 18053, containerPort: 8053, protocol: 'tcp' }] };
  const list: NetConfList = {
    cniVersion: await listVersion(t, rt, ['portmap']),
    name: 'chpm',
    plugins: [ctnetPlugin(stateDir, 53), { type: 'portmap', capabilities: { portMappings: true }, snat: true }],
  };
  const res = await rt.add(list, att);
  const { containerIp } = resultLinks(res);
  await tcpServer(t, ns, '0.0.0.0', 8053);
  // The request reached ctnet without portMappings (ctnet did not claim the capability): the DNAT is portmap's.
  const eps = (await ctnetLs(stateDir)) as { ports: unknown[] }[];
  assert.deepEqual(eps.map((e) => e.ports), [[]], 'ctnet published nothing itself');
  // One DNAT, portmap's: the check the README's conflist is held to sees iptables-nft's rules too.
  assert.deepEqual(await tablesNamingPort(18053), ['ip nat'], 'only portmap\'s (iptables-nft) table names the port');
  const nat = await sh('iptables', ['-w', '-t', 'nat', '-S']);
  assert.match(nat, new RegExp(`--dport 18053 -j DNAT --to-destination ${containerIp.replaceAll('.', '\\.')}:8053`), 'portmap\'s DNAT rule');
  // From another host: forwarded through the host, so ctnet's forward rules must let it pass.
  assert.deepEqual(await tcpRequest(world, uplinkIp, 18053, 'world'), { from: '198.51.100.1', got: 'world' });
  // From the host itself to its own address.
  assert.equal((await tcpRequest(undefined, uplinkIp, 18053, 'host'))?.got, 'host');
  await checkChain(t, rt, list, att, res);
  await rt.del(list, att, res);
  assert.equal(await tcpProbe(world, uplinkIp, 18053), undefined, 'not published after DEL');
  assert.doesNotMatch(await sh('iptables', ['-w', '-t', 'nat', '-S']), /--dport 18053/);
  await assertCleanAfterDel(stateDir, res);
});

test('the README\'s conflist publishes a port once: only ctnet\'s table names it', { skip }, async (t) => {
  const { stateDir, ns, rt, att } = await setupChain(t, 'chain-doc');
  const list = readmeConflist(stateDir);
  if (skipped(t, list.plugins.filter((p) => p.type !== 'ctnet').map((p) => missingPlugin(p.type)))) return;
  const { world, uplinkIp } = await withUplink(t);
  att.capabilityArgs = { portMappings: [{ hostPort: 18056, containerPort: 8056, protocol: 'tcp' }] };
  const res = await rt.add(list, att);
  await tcpServer(t, ns, '0.0.0.0', 8056);
  assert.deepEqual(await tcpRequest(world, uplinkIp, 18056, 'doc'), { from: '198.51.100.1', got: 'doc' }, 'the port is published');
  // The runtime passed the mappings only to the plugin that declares the capability: ctnet.
  const eps = (await ctnetLs(stateDir)) as { ports: { hostPort: number }[] }[];
  assert.deepEqual(eps.flatMap((e) => e.ports.map((p) => p.hostPort)), [18056, 18056], 'ctnet published it (IPv4 and IPv6)');
  assert.deepEqual(await tablesNamingPort(18056), ['inet ctnet'], 'one DNAT: no other table names the port');
  if ((await iptablesUnusable()) === undefined) assert.doesNotMatch(await sh('iptables', ['-w', '-t', 'nat', '-S']), /--dport 18056\b/);
  await checkChain(t, rt, list, att, res);
  await rt.del(list, att, res);
  assert.equal(await tcpProbe(world, uplinkIp, 18056), undefined, 'not published after DEL');
  assert.deepEqual(await tablesNamingPort(18056), []);
  await assertCleanAfterDel(stateDir, res);
});

test('ctnet + firewall (iptables backend): the container\'s forward rules come and go', { skip }, async (t) => {
  if (skipped(t, [missingPlugin('firewall'), await iptablesUnusable()])) return;
  const { stateDir, ns, rt, att } = await setupChain(t, 'chain-fw');
  const { world, serverIp } = await withUplink(t);
  await tcpServer(t, world, serverIp, 7054);
  const list: NetConfList = {
    cniVersion: await listVersion(t, rt, ['firewall']),
    name: 'chfw',
    plugins: [ctnetPlugin(stateDir, 54), { type: 'firewall', backend: 'iptables' }],
  };
  const res = await rt.add(list, att);
  const { containerIp } = resultLinks(res);
  const fwd = await sh('iptables', ['-w', '-t', 'filter', '-S', 'CNI-FORWARD']);
  assert.ok(fwd.includes(`${containerIp}/32`), `CNI-FORWARD names the container: ${fwd}`);
  assert.equal((await tcpRequest(ns, serverIp, 7054, 'out'))?.got, 'out', 'the container still reaches the internet');
  await checkChain(t, rt, list, att, res);
  await rt.del(list, att, res);
  assert.ok(!(await sh('iptables', ['-w', '-t', 'filter', '-S'])).includes(`${containerIp}/32`), 'the firewall plugin removed its rules');
  await assertCleanAfterDel(stateDir, res);
});

test('the whole conflist [ctnet, tuning, bandwidth, portmap, firewall]: ADD, CHECK, DEL in reverse', { skip }, async (t) => {
  const required = ['tuning', 'bandwidth', 'portmap'];
  if (skipped(t, [...required.map(missingPlugin), await ifbUnusable(), await iptablesUnusable()])) return;
  // The firewall element is dropped, with the reason printed, when it cannot run here.
  const firewallWhy = missingPlugin('firewall');
  if (firewallWhy !== undefined) t.diagnostic(`firewall element left out: ${firewallWhy}`);
  const { stateDir, ns, rt, att } = await setupChain(t, 'chain-all');
  const { world, uplinkIp } = await withUplink(t);
  const dataDir = tempStateDir(t);
  att.capabilityArgs = { portMappings: [{ hostPort: 18055, containerPort: 8055, protocol: 'tcp' }], mac: '02:42:0a:58:37:09' };
  const types = [...required, ...(firewallWhy === undefined ? ['firewall'] : [])];
  const list: NetConfList = {
    cniVersion: await listVersion(t, rt, types),
    name: 'chall',
    plugins: [
      ctnetPlugin(stateDir, 55),
      { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.rp_filter': '2' }, dataDir },
      { type: 'bandwidth', ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 10_000_000, egressBurst: 1_000_000 },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ...(firewallWhy === undefined ? [{ type: 'firewall', backend: 'iptables' }] : []),
    ],
  };
  const res = await rt.add(list, att);
  const { hostVeth, containerIp } = resultLinks(res);
  // ctnet took the mac capability; the runtime passed it to ctnet only.
  assert.equal((await ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', 'eth0'], ns))[0]?.address, '02:42:0a:58:37:09');
  assert.equal(await containerSysctl(ns, 'net.ipv4.conf.eth0.rp_filter'), '2', 'tuning');
  const onVeth = (await qdiscs(hostVeth)).map((q) => q.kind);
  assert.ok(onVeth.includes('tbf') && onVeth.includes('ingress'), `bandwidth: ${onVeth.join(', ')}`);
  await tcpServer(t, ns, '0.0.0.0', 8055);
  assert.deepEqual(await tcpRequest(world, uplinkIp, 18055, 'chain'), { from: '198.51.100.1', got: 'chain' }, 'portmap');
  if (firewallWhy === undefined) assert.ok((await sh('iptables', ['-w', '-S', 'CNI-FORWARD'])).includes(`${containerIp}/32`), 'firewall');
  // The final result still describes ctnet's interface and address.
  assert.equal(resultLinks(res).container, 'eth0');
  await checkChain(t, rt, list, att, res);
  await rt.del(list, att, res);
  assert.equal(await tcpProbe(world, uplinkIp, 18055), undefined, 'not published after DEL');
  await assertCleanAfterDel(stateDir, res, ['18055']);
  const timing = rt.runs.map((r) => `${r.type} ${r.command} ${r.run.ms.toFixed(0)} ms`).join(', ');
  t.diagnostic(`plugin runs: ${timing}`);
});
