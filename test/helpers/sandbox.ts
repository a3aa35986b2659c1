/**
 * Helpers for integration tests. They run inside scripts/sandbox.sh (a private network + mount
 * namespace), build what they need with independent tools (`ip`, `nft`, `ping`, a Node TCP peer run
 * through `ip netns exec`) and check the kernel's view with those same tools, never ctnet's read-back.
 * @module
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { agentEnv, serveByAgent } from './agent.js';
import { CLI, CNI_PLUGIN, NATIVE_CNI_CLIENT, REPO_ROOT } from './paths.js';

export { CLI, CNI_PLUGIN, NATIVE_CNI_CLIENT, REPO_ROOT } from './paths.js';

const run = promisify(execFile);

/** Why integration tests cannot run here, or undefined when they can. */
export function sandboxSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (process.env['CTNET_SANDBOX'] !== '1') return 'run through scripts/sandbox.sh (npm run test:integration)';
  return undefined;
}

/** A fresh state directory for one test, removed afterwards (served by an agent of its own with CTNET_TEST_AGENT=1). */
export function tempStateDir(t: TestContext): string {
  const dir = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? tmpdir(), 'state-'));
  const stopAgent = serveByAgent(dir);
  t.after(async () => {
    await stopAgent();
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export async function sh(cmd: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run(cmd, [...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** `ip -j ARGS` (in namespace `ns` when given), parsed. */
export async function ipJson<T = unknown>(args: readonly string[], ns?: string): Promise<T> {
  const out = await sh('ip', [...(ns === undefined ? [] : ['-n', ns]), '-j', ...args]);
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

export interface IpLink {
  ifname: string;
  ifindex: number;
  flags: string[];
  mtu: number;
  address?: string;
  master?: string;
  operstate?: string;
  link_type?: string;
}

export interface IpAddrInfo extends IpLink {
  addr_info: { family: 'inet' | 'inet6'; local: string; prefixlen: number; scope: string }[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
  protocol?: string;
}

export async function links(ns?: string): Promise<IpLink[]> {
  return ipJson<IpLink[]>(['link', 'show'], ns);
}

export async function addrs(ns?: string): Promise<IpAddrInfo[]> {
  return ipJson<IpAddrInfo[]>(['addr', 'show'], ns);
}

export async function routes(ns?: string, family: 4 | 6 = 4): Promise<IpRoute[]> {
  return ipJson<IpRoute[]>([`-${family}`, 'route', 'show'], ns);
}

/** `nft -j list ruleset`, parsed. */
export async function nftRuleset(): Promise<{ nftables: Record<string, unknown>[] }> {
  return JSON.parse(await sh('nft', ['-j', 'list', 'ruleset'])) as { nftables: Record<string, unknown>[] };
}

/** Everything a test may have changed in the sandbox namespace, for before/after comparisons. */
export async function hostSnapshot(): Promise<string> {
  const [l, a, r4, r6, nft, netns] = await Promise.all([
    sh('ip', ['-j', 'link', 'show']),
    sh('ip', ['-j', 'addr', 'show']),
    sh('ip', ['-j', '-4', 'route', 'show', 'table', 'all']),
    sh('ip', ['-j', '-6', 'route', 'show', 'table', 'all']),
    sh('nft', ['-j', 'list', 'ruleset']),
    sh('ip', ['netns', 'list']),
  ]);
  return JSON.stringify({ l, a, r4, r6, nft, netns });
}

let nsCounter = 0;

/** Resolve once `child` prints `ready` on stdout; reject, with its stderr, if it exits first. */
export function waitForReady(child: ChildProcess, what: string): Promise<void> {
  let out = '';
  let err = '';
  return new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      reject(new Error(`${what} exited with ${String(code)}: ${err.trim()}`));
    });
    child.on('error', reject);
  });
}

/** A named namespace made with `ip netns add` (the independent tool), deleted after the test. */
export async function newNetns(t: TestContext, prefix = 'c'): Promise<string> {
  const name = `${prefix}${process.pid}-${nsCounter++}`;
  await sh('ip', ['netns', 'add', name]);
  t.after(async () => {
    await sh('ip', ['netns', 'del', name]).catch(() => undefined);
  });
  return name;
}

/** Run a command inside a named namespace with `ip netns exec`. */
export async function nsExec(ns: string, cmd: string, args: readonly string[]): Promise<string> {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** True if `ping -c1` from namespace `ns` (or the sandbox itself) to `ip` gets an answer within 1 s. */
export async function ping(ns: string | undefined, ip: string): Promise<boolean> {
  const args = ['-c', '1', '-W', '1', ip];
  try {
    if (ns === undefined) await sh('ping', args);
    else await nsExec(ns, 'ping', args);
    return true;
  } catch {
    return false;
  }
}

const SERVER_JS = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const srv = net.createServer((s) => { s.on('data', (d) => s.end(JSON.stringify({ from: s.remoteAddress, got: d.toString() }))); });
srv.listen(Number(port), host, () => process.stdout.write('ready\\n'));
`;

const CLIENT_JS = `
const net = require('node:net');
const [host, port, msg] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), timeout: 2000 });
let buf = '';
s.on('connect', () => s.write(msg));
s.on('data', (d) => { buf += d; });
s.on('end', () => { process.stdout.write(buf); process.exit(0); });
s.on('timeout', () => { process.stderr.write('timeout'); process.exit(3); });
s.on('error', (e) => { process.stderr.write(e.code || String(e)); process.exit(2); });
`;

/** `node -e SCRIPT ARGS` in namespace `ns` (undefined: the sandbox itself), started. */
function spawnNode(ns: string | undefined, script: string, args: readonly string[]): ChildProcess {
  const argv = ['-e', script, ...args];
  return ns === undefined ? spawn('node', argv) : spawn('ip', ['netns', 'exec', ns, 'node', ...argv]);
}

/** spawnNode() waiting for the script's `ready` line; stopped after the test, even if it never comes. */
async function readyChild(t: TestContext, ns: string | undefined, script: string, args: readonly string[], what: string): Promise<ChildProcess> {
  const child = spawnNode(ns, script, args);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitForReady(child, `${what} in ${ns ?? 'sandbox'}`);
  return child;
}

/** `node -e SCRIPT ARGS` run to its end in namespace `ns` (undefined: the sandbox): its stdout. */
async function nodeIn(ns: string | undefined, script: string, args: readonly string[]): Promise<string> {
  const argv = ['-e', script, ...args];
  return ns === undefined ? sh('node', argv) : nsExec(ns, 'node', argv);
}

/** A client script's answer (`{ from, got }`), or undefined when it failed. */
async function answerOf(ns: string | undefined, script: string, args: readonly string[]): Promise<{ from: string; got: string } | undefined> {
  try {
    return JSON.parse(await nodeIn(ns, script, args)) as { from: string; got: string };
  } catch {
    return undefined;
  }
}

/**
 * A TCP server in namespace `ns` (undefined: the sandbox itself) that answers each connection with
 * the client's address as it saw it. Stopped after the test.
 */
export async function tcpServer(t: TestContext, ns: string | undefined, host: string, port: number): Promise<void> {
  await readyChild(t, ns, SERVER_JS, [host, String(port)], 'tcp server');
}

/** Connect from `ns` to host:port, send `msg`; the server's answer, or undefined if no connection. */
export async function tcpRequest(ns: string | undefined, host: string, port: number, msg = 'hello'): Promise<{ from: string; got: string } | undefined> {
  return answerOf(ns, CLIENT_JS, [host, String(port), msg]);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real `ctnet` executable with a state directory. */
export async function cli(stateDir: string, args: readonly string[]): Promise<CliResult> {
  const viaAgent = await agentEnv(stateDir);
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, CTNET_STATE_DIR: stateDir, ...viaAgent } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => { resolveRun({ code: code ?? -1, stdout, stderr }); });
  });
}

/**
 * An "internet" behind the sandbox: namespace `world` reached over a veth from the sandbox
 * (198.51.100.2 here, 198.51.100.1 there) and the default route, with `serverIp` (a documentation
 * address) on its loopback. The world has no route back to container subnets, so only masqueraded
 * traffic gets answers. Removed after the test.
 */
export async function withUplink(t: TestContext, serverIp = '203.0.113.10'): Promise<{ world: string; uplinkIp: string; serverIp: string }> {
  const world = await newNetns(t, 'w');
  const up = `up${process.pid % 10000}${nsCounter++}`;
  await sh('ip', ['link', 'add', up, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', world]);
  t.after(async () => {
    await sh('ip', ['link', 'del', up]).catch(() => undefined);
  });
  await sh('ip', ['addr', 'add', '198.51.100.2/24', 'dev', up]);
  await sh('ip', ['link', 'set', up, 'up']);
  await sh('ip', ['-n', world, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0']);
  await sh('ip', ['-n', world, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', world, 'link', 'set', 'lo', 'up']);
  await sh('ip', ['-n', world, 'addr', 'add', `${serverIp}/32`, 'dev', 'lo']);
  await sh('ip', ['route', 'add', 'default', 'via', '198.51.100.1']);
  t.after(async () => {
    await sh('ip', ['route', 'del', 'default', 'via', '198.51.100.1']).catch(() => undefined);
  });
  return { world, uplinkIp: '198.51.100.2', serverIp };
}

/** Names of links in the sandbox that ctnet made (bridges `ct-*`, veths `ct*`) or the test named. */
export async function ctnetLinks(extra: readonly string[] = []): Promise<string[]> {
  return (await links()).map((l) => l.ifname).filter((n) => /^ct/.test(n) || extra.includes(n));
}

/** Run the real `ctnet` and return its stdout; throws with its stderr when it exits non-zero. */
export async function cliOk(stateDir: string, args: readonly string[]): Promise<string> {
  const res = await cli(stateDir, args);
  if (res.code !== 0) throw new Error(`ctnet ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim()}`);
  return res.stdout;
}

/** True when the ruleset holds ctnet's table `inet ctnet`. */
export async function hasCtnetTable(): Promise<boolean> {
  return (await nftRuleset()).nftables.some((item) => {
    const table = item['table'] as { family?: string; name?: string } | undefined;
    return table?.family === 'inet' && table.name === 'ctnet';
  });
}

/**
 * Every published-port element of ctnet's table as nft lists it, sorted:
 * `pub4_any_addr tcp . 18080 -> 10.98.0.2 (ctnet ep ea01)`. No table: none.
 */
export async function pubElements(): Promise<string[]> {
  if (!(await hasCtnetTable())) return [];
  const doc = JSON.parse(await sh('nft', ['-j', 'list', 'table', 'inet', 'ctnet'])) as { nftables: unknown[] };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const found: string[] = [];
  for (const item of doc.nftables) {
    const map = isObj(item) ? item['map'] : undefined;
    if (!isObj(map) || !String(map['name']).startsWith('pub') || !Array.isArray(map['elem'])) continue;
    for (const e of map['elem'] as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2) throw new Error(`unexpected map element ${JSON.stringify(e)}`);
      const [key, value] = e as [unknown, unknown];
      const opts = isObj(key) && isObj(key['elem']) ? key['elem'] : undefined;
      const val = opts?.['val'] ?? key;
      const parts = isObj(val) && Array.isArray(val['concat']) ? (val['concat'] as unknown[]) : [val];
      found.push(`${String(map['name'])} ${parts.map(String).join(' . ')} -> ${String(value)} (${String(opts?.['comment'])})`);
    }
  }
  return found.sort();
}

/** Delete ctnet's table if it is there (tests that drive the firewall driver directly start clean). */
export async function dropCtnetTable(): Promise<void> {
  if (await hasCtnetTable()) await sh('nft', ['delete', 'table', 'inet', 'ctnet']);
}

/** A route as `ip -j route show table all` prints it. */
export interface IpRouteEntry extends IpRoute {
  type?: string;
  table?: string;
  prefsrc?: string;
  metric?: number;
}

/**
 * What ctnet could leave behind in the sandbox namespace, as sorted lines: links (name, master,
 * MTU), addresses, routes of every table, the nftables ruleset and the named namespaces. Unlike
 * hostSnapshot() it leaves out what the kernel changes by itself meanwhile (IPv6 link-local
 * addresses finishing DAD, link state, the subnet-router anycast routes that forwarding adds), so
 * a before/after comparison does not depend on timing.
 */
export async function hostFootprint(): Promise<string[]> {
  const [l, a, r4, r6, nft, netns] = await Promise.all([
    links(),
    addrs(),
    ipJson<IpRouteEntry[]>(['-4', 'route', 'show', 'table', 'all']),
    ipJson<IpRouteEntry[]>(['-6', 'route', 'show', 'table', 'all']),
    nftRuleset(),
    sh('ip', ['netns', 'list']),
  ]);
  const out: string[] = [];
  for (const x of l) out.push(`link ${x.ifname} mtu ${x.mtu} master ${x.master ?? '-'}`);
  for (const x of a) {
    for (const i of x.addr_info) if (!i.local.startsWith('fe80:')) out.push(`addr ${x.ifname} ${i.local}/${i.prefixlen}`);
  }
  for (const r of [...r4, ...r6]) {
    if (r.type === 'anycast' || r.dst.startsWith('fe80:')) continue;
    out.push(`route ${r.table ?? 'main'} ${r.type ?? 'unicast'} ${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'}`);
  }
  for (const item of nft.nftables) if (!('metainfo' in item)) out.push(`nft ${JSON.stringify(item)}`);
  // `ip netns list` appends `(id: N)` once the kernel has given the namespace an id (a veth peer
  // there does that); the id is the kernel's bookkeeping, not something ctnet made.
  for (const line of netns.split('\n')) if (line.trim() !== '') out.push(`netns ${line.replace(/\s*\(id: \d+\)\s*$/, '').trim()}`);
  return out.sort();
}

// Long enough for a SYN and its answer between namespaces on one host, short enough to keep the
// expected-drop cases cheap.
const DROP_TIMEOUT_MS = 700;

const PROBE_JS = `
const net = require('node:net');
const [host, port, msg, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
let buf = '';
const timer = setTimeout(() => { process.stderr.write('timeout'); process.exit(3); }, Number(ms));
s.on('connect', () => s.write(msg));
s.on('data', (d) => { buf += d; });
s.on('end', () => { clearTimeout(timer); process.stdout.write(buf); process.exit(0); });
s.on('error', (e) => { process.stderr.write(e.code || String(e)); process.exit(2); });
`;

/**
 * tcpRequest() with a short deadline for the whole exchange, for connections that are expected to
 * be dropped: the answer, or undefined after `timeoutMs`.
 */
export async function tcpProbe(ns: string | undefined, host: string, port: number, timeoutMs = DROP_TIMEOUT_MS, msg = 'probe'): Promise<{ from: string; got: string } | undefined> {
  return answerOf(ns, PROBE_JS, [host, String(port), msg, String(timeoutMs)]);
}

/** `ping` with a size and the don't-fragment bit: true if an answer came back within 1 s. */
export async function pingSize(ns: string, ip: string, size: number): Promise<boolean> {
  try {
    await nsExec(ns, 'ping', ['-c', '1', '-W', '1', '-M', 'do', '-s', String(size), ip]);
    return true;
  } catch {
    return false;
  }
}

/**
 * A process in a network namespace of its own (`unshare --net sleep 30`), for `pid:N` references.
 * Resolves with its pid once it has left the sandbox's namespace; killed by that pid after the test.
 */
export async function netnsHolder(t: TestContext): Promise<number> {
  const child = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start unshare --net sleep 30');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
  });
  const own = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 200; i++) {
    let theirs: string | undefined;
    try {
      theirs = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      theirs = undefined;
    }
    if (theirs !== undefined && theirs !== own) return pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} did not enter a new network namespace`);
}

/** A neighbour entry as `ip -j neigh show` prints it. */
export interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

export async function neighbours(ns?: string): Promise<IpNeigh[]> {
  return ipJson<IpNeigh[]>(['neigh', 'show'], ns);
}

/** One link of namespace `ns` (undefined: the sandbox) by name. */
export async function linkNamed(name: string, ns?: string): Promise<IpLink | undefined> {
  return (await links(ns)).find((l) => l.ifname === name);
}

/** Keys whose values the kernel changes by itself over time: IPv6 DAD marks new addresses `tentative` for a second or so. */
const VOLATILE_KEYS = new Set(['tentative']);

function dropVolatile(value: unknown, keys: ReadonlySet<string> = VOLATILE_KEYS): unknown {
  if (Array.isArray(value)) return value.map((v) => dropVolatile(v, keys));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.has(k)).map(([k, v]) => [k, dropVolatile(v, keys)]));
  }
  return value;
}

function stableJson(text: string, keys?: ReadonlySet<string>): unknown {
  return text.trim() === '' ? null : dropVolatile(JSON.parse(text), keys);
}

/**
 * nft object handles are the kernel's numbering: a transaction that replaces a rule with the same
 * rule gives it a new handle. What matters is the ruleset's content and order.
 */
const NFT_VOLATILE_KEYS = new Set(['handle']);

/**
 * `hostSnapshot()` without the kernel's own bookkeeping: the `tentative` flag of IPv6 addresses
 * still in duplicate address detection, the ids `ip netns list` shows, nft handles. A snapshot
 * taken right after a change can then be compared with one taken a second later.
 */
export async function stableHostSnapshot(): Promise<string> {
  const raw = JSON.parse(await hostSnapshot()) as Record<string, string>;
  const out: Record<string, unknown> = {};
  // `ip netns list` appends `(id: N)` once a veth peer has given the namespace an id: kernel bookkeeping.
  for (const [key, text] of Object.entries(raw)) {
    out[key] = key === 'netns' ? text.replace(/ \(id: \d+\)$/gm, '') : stableJson(text, key === 'nft' ? NFT_VOLATILE_KEYS : VOLATILE_KEYS);
  }
  return JSON.stringify(out, null, 1);
}

/** Links, addresses and routes (every table, both families) inside a namespace, as `ip -n NS -j` shows them, without volatile flags. */
export async function containerSnapshot(ns: string): Promise<string> {
  const [l, a, r4, r6] = await Promise.all([
    sh('ip', ['-n', ns, '-j', 'link', 'show']),
    sh('ip', ['-n', ns, '-j', 'addr', 'show']),
    sh('ip', ['-n', ns, '-j', '-4', 'route', 'show', 'table', 'all']),
    sh('ip', ['-n', ns, '-j', '-6', 'route', 'show', 'table', 'all']),
  ]);
  return JSON.stringify({ l: stableJson(l), a: stableJson(a), r4: stableJson(r4), r6: stableJson(r6) }, null, 1);
}

/**
 * Remove everything a state directory describes: disconnect every endpoint, then remove every
 * network, through the library. Collects failures and throws them together at the end.
 */
export async function removeAllCtnetObjects(stateDir: string): Promise<void> {
  const { Ctnet } = await import('../../src/ctnet.js');
  const ct = Ctnet.open({ stateDir });
  const failures: string[] = [];
  try {
    for (const ep of ct.listEndpoints()) {
      await ct.disconnect(ep.network, ep.container, { owner: ep.owner, ifname: ep.ifname }).catch((err: unknown) => failures.push(String(err)));
    }
    for (const net of ct.listNetworks()) {
      await ct.removeNetwork(net.name).catch((err: unknown) => failures.push(String(err)));
    }
  } finally {
    ct.close();
  }
  if (failures.length > 0) throw new Error(`cleanup of ${stateDir} failed: ${failures.join('; ')}`);
}

/**
 * A fresh state directory (as `tempStateDir`) whose networks and endpoints are removed after the
 * test, before the directory itself. `after` hooks run in the order they were added, so the
 * cleanup hook is added first.
 */
export function ctnetStateDir(t: TestContext): string {
  const dirs: string[] = [];
  t.after(async () => {
    for (const dir of dirs) await removeAllCtnetObjects(dir);
  });
  const dir = tempStateDir(t);
  dirs.push(dir);
  return dir;
}

/** Run the real `ctnet` executable with exactly this environment added (no CTNET_STATE_DIR unless given). */
export async function cliWithEnv(env: Readonly<Record<string, string | undefined>>, args: readonly string[]): Promise<CliResult> {
  const viaAgent = await agentEnv(env['CTNET_STATE_DIR']);
  return new Promise((resolveRun) => {
    const base: Record<string, string | undefined> = { ...process.env };
    delete base['CTNET_STATE_DIR'];
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...viaAgent, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => { resolveRun({ code: code ?? -1, stdout, stderr }); });
  });
}

/** A veth pair in the sandbox that ctnet did not make (ctnet's `--bridge` must not take its name), removed after the test. */
export async function foreignLink(t: TestContext, name: string): Promise<void> {
  await sh('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name.slice(0, 13)}p`]);
  t.after(async () => {
    await sh('ip', ['link', 'del', name]).catch(() => undefined);
  });
}

/**
 * Wait until no IPv6 address in the sandbox (and in the namespaces given) is still in duplicate
 * address detection. The kernel adds the address's local route only when DAD ends, so a snapshot
 * taken during DAD differs from one taken a second later although nobody changed anything.
 */
export async function waitForDad(namespaces: readonly string[] = [], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await Promise.all([addrs(), ...namespaces.map((ns) => addrs(ns))]);
    const busy = all.flat().some((l) => l.addr_info.some((a) => (a as { tentative?: boolean }).tentative === true));
    if (!busy) return;
    if (Date.now() > deadline) throw new Error(`IPv6 duplicate address detection still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


export interface CniExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
}

/**
 * Run a CNI plugin executable as a runtime does: an environment of PATH and `env` only (nothing
 * else of the test's, so no CTNET_STATE_DIR; `PATH: undefined` leaves PATH out too), `stdin`
 * written and closed, stdout, stderr and the exit code collected.
 */
export async function pluginExec(file: string, args: readonly string[], env: Readonly<Record<string, string | undefined>>, stdin: string | Uint8Array): Promise<CniExecResult> {
  return new Promise((resolveRun, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, [...args], { env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => { resolveRun({ code: code ?? -1, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 }); });
    // A plugin that fails before reading stdin closes the pipe; that is its answer, not ours to report.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/** Start a process (with `stdin` written to it) and SIGKILL it after `ms`, unless it ends first. */
export function runKilledAfter(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, ms: number, stdin = ''): Promise<void> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, [...args], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolveRun();
    });
  });
}

/** Run the kill-at-step fixture; with k = -1 returns the steps of a whole run. */
export async function runToStep(stateDir: string, k: number, args: readonly string[]): Promise<string[]> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/test/fixtures/kill-at-step.js'), stateDir, String(k), ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => {
      if (k >= 0) {
        if (signal === 'SIGKILL') resolveRun([]);
        else reject(new Error(`expected a kill at step ${k}, got exit ${String(code)}: ${stderr}`));
      } else if (code === 0) {
        resolveRun(JSON.parse(stdout) as string[]);
      } else {
        reject(new Error(`kill-at-step ${args.join(' ')} failed: ${stderr}`));
      }
    });
  });
}

/**
 * Run the real `ctnet-cni` as a runtime does: the CNI_* variables in `env`, the request config on
 * stdin, stdout and the exit code read back. The environment holds PATH and `env` only, never the
 * sandbox's CTNET_STATE_DIR (unless `env` sets it), so the state dir reaches the plugin through the
 * config: when `stateDir` is given and `stdin` is an object without a `stateDir` key, it is added.
 * A string `stdin` is passed exactly as it is (for malformed JSON).
 */
export async function cniExec(stateDir: string | undefined, env: Readonly<Record<string, string>>, stdin: string | Readonly<Record<string, unknown>>): Promise<CniExecResult> {
  const text = typeof stdin === 'string' ? stdin : JSON.stringify(stateDir === undefined || 'stateDir' in stdin ? stdin : { ...stdin, stateDir });
  // In agent mode the runtime's executable is the native client, which forwards to the agent.
  const viaAgent = await agentEnv(stateDir);
  if (viaAgent['CTNET_SOCKET'] !== undefined) return pluginExec(NATIVE_CNI_CLIENT, [], { ...viaAgent, ...env }, text);
  return pluginExec(process.execPath, [CNI_PLUGIN], env, text);
}

/**
 * The IPv6 twin of withUplink(): namespace `world` behind a veth `uplink` (fd00:198:51:100::2 here,
 * fd00:198:51:100::1 there, both without DAD), the sandbox's IPv6 default route pointing to it, and
 * `serverIp` on the world's loopback. The world has no route back to container subnets. Removed
 * after the test.
 */
export async function withUplink6(
  t: TestContext,
  serverIp = 'fd00:203:0:113::10',
): Promise<{ world: string; uplink: string; uplinkIp: string; worldIp: string; serverIp: string }> {
  const world = await newNetns(t, 'w');
  const up = `u6${process.pid % 10000}${nsCounter++}`;
  const uplinkIp = 'fd00:198:51:100::2';
  const worldIp = 'fd00:198:51:100::1';
  await sh('ip', ['link', 'add', up, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', world]);
  t.after(async () => {
    await sh('ip', ['link', 'del', up]).catch(() => undefined);
  });
  await sh('ip', ['addr', 'add', `${uplinkIp}/64`, 'dev', up, 'nodad']);
  await sh('ip', ['link', 'set', up, 'up']);
  await sh('ip', ['-n', world, 'addr', 'add', `${worldIp}/64`, 'dev', 'eth0', 'nodad']);
  await sh('ip', ['-n', world, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', world, 'link', 'set', 'lo', 'up']);
  await sh('ip', ['-n', world, 'addr', 'add', `${serverIp}/128`, 'dev', 'lo']);
  await sh('ip', ['-6', 'route', 'add', 'default', 'via', worldIp]);
  t.after(async () => {
    await sh('ip', ['-6', 'route', 'del', 'default', 'via', worldIp]).catch(() => undefined);
  });
  return { world, uplink: up, uplinkIp, worldIp, serverIp };
}

const UDP_ECHO_JS = `
const dgram = require('node:dgram');
const [host, port] = process.argv.slice(1);
const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.on('message', (m, r) => s.send(JSON.stringify({ from: r.address, got: m.toString() }), r.port, r.address));
s.bind(Number(port), host, () => process.stdout.write('ready\\n'));
`;

const UDP_CLIENT_JS = `
const dgram = require('node:dgram');
const [host, port, msg, ms] = process.argv.slice(1);
const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
setTimeout(() => { process.stderr.write('timeout'); process.exit(3); }, Number(ms));
s.on('message', (m) => { process.stdout.write(m.toString()); process.exit(0); });
s.on('error', (e) => { process.stderr.write(e.code || String(e)); process.exit(2); });
s.send(msg, Number(port), host);
`;

/**
 * A UDP server in namespace `ns` (undefined: the sandbox) that answers each datagram with
 * `{ from, got }`: the client's address as it saw it and the datagram. Stopped after the test.
 */
export async function udpEchoServer(t: TestContext, ns: string | undefined, host: string, port: number): Promise<void> {
  await readyChild(t, ns, UDP_ECHO_JS, [host, String(port)], 'udp echo server');
}

/** Send one datagram from `ns` to host:port: the echo server's answer, or undefined after `timeoutMs`. */
export async function udpRequest(ns: string | undefined, host: string, port: number, timeoutMs = 1000, msg = 'hello'): Promise<{ from: string; got: string } | undefined> {
  return answerOf(ns, UDP_CLIENT_JS, [host, String(port), msg, String(timeoutMs)]);
}

/**
 * tcpServer() or udpEchoServer() for a suite's `before` hook, which has no test context to stop it:
 * the caller stops it with stopServers().
 */
export async function suiteServer(ns: string | undefined, protocol: 'tcp' | 'udp', host: string, port: number): Promise<ChildProcess> {
  const child = spawnNode(ns, protocol === 'tcp' ? SERVER_JS : UDP_ECHO_JS, [host, String(port)]);
  await waitForReady(child, `${protocol} server in ${ns ?? 'sandbox'} on ${host}:${port}`);
  return child;
}

/** Kill suiteServer()s and wait until they have exited. */
export async function stopServers(servers: readonly ChildProcess[]): Promise<void> {
  for (const s of servers) s.kill();
  await Promise.all(servers.map((s) => (s.exitCode === null && s.signalCode === null ? once(s, 'exit') : Promise.resolve())));
}

// Clients for firewall tests, where a refusal and a drop mean different things: they print the
// address the server saw, TIMEOUT (nothing came back: dropped) or ERROR and the code
// (ECONNREFUSED: the host answered itself, nothing was forwarded).
const TCP_OUTCOME_JS = `
const net = require('node:net');
const [host, port, ms] = process.argv.slice(1);
const s = net.connect(Number(port), host);
let out = '';
s.setTimeout(Number(ms), () => { console.log('TIMEOUT'); process.exit(0); });
s.on('connect', () => s.write('outcome'));
s.on('data', (d) => { out += d; });
s.on('end', () => { console.log(JSON.parse(out).from); process.exit(0); });
s.on('error', (e) => { console.log('ERROR ' + e.code); process.exit(0); });
`;
const UDP_OUTCOME_JS = `
const dgram = require('node:dgram');
const [host, port, ms] = process.argv.slice(1);
const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
setTimeout(() => { console.log('TIMEOUT'); process.exit(0); }, Number(ms));
s.on('message', (m) => { console.log(JSON.parse(m.toString()).from); process.exit(0); });
s.on('error', (e) => { console.log('ERROR ' + e.code); process.exit(0); });
s.send('outcome', Number(port), host);
`;
/**
 * What a client in `ns` (undefined: the sandbox) gets from the server at host:port (tcpServer(),
 * udpEchoServer(), suiteServer()): the client's address as the server saw it, `TIMEOUT` or
 * `ERROR <code>`.
 */
export async function peerAddress(ns: string | undefined, protocol: 'tcp' | 'udp', host: string, port: number): Promise<string> {
  const out = await nodeIn(ns, protocol === 'tcp' ? TCP_OUTCOME_JS : UDP_OUTCOME_JS, [host, String(port), String(DROP_TIMEOUT_MS)]);
  return out.trim();
}

const TCP_PORTS_JS = `
const net = require('node:net');
const [host, ...ports] = process.argv.slice(1);
let left = ports.length;
for (const port of ports) {
  const srv = net.createServer((s) => { s.on('data', (d) => s.end(JSON.stringify({ from: s.remoteAddress, got: d.toString(), port: s.localPort }))); });
  srv.listen(Number(port), host, () => { if (--left === 0) process.stdout.write('ready\\n'); });
}
`;

/**
 * One process in namespace `ns` with a TCP server on each of `ports`, answering like tcpServer()
 * plus the port the connection arrived on (`{ from, got, port }`, see tcpPortRequest()).
 * Stopped after the test.
 */
export async function tcpPortsServer(t: TestContext, ns: string | undefined, host: string, ports: readonly number[]): Promise<void> {
  await readyChild(t, ns, TCP_PORTS_JS, [host, ...ports.map(String)], 'tcp servers');
}

/** tcpRequest() to a tcpPortsServer(): the answer with the server's port, or undefined. */
export async function tcpPortRequest(ns: string | undefined, host: string, port: number): Promise<{ from: string; got: string; port?: number } | undefined> {
  return tcpRequest(ns, host, port);
}

const LISTENER_JS = `
const net = require('node:net');
const dgram = require('node:dgram');
const [proto, host, port] = process.argv.slice(1);
const ready = () => process.stdout.write('ready\\n');
if (proto === 'udp') dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4').bind(Number(port), host, ready);
else net.createServer(() => undefined).listen(Number(port), host, ready);
`;

/**
 * A process in the sandbox itself holding `host:port` (a listening TCP socket, or a bound UDP
 * socket), as any program on the host would. Resolves with its pid; `stop()` kills it by that pid
 * and waits for it to exit (it is also killed after the test).
 */
export async function hostListener(t: TestContext, protocol: 'tcp' | 'udp', host: string, port: number): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = await readyChild(t, undefined, LISTENER_JS, [protocol, host, String(port)], `${protocol} listener on ${host}:${port}`);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`listener on ${host}:${port} has no pid`);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => { resolveExit(); }));
  return {
    pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}
