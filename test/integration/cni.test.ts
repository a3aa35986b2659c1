/**
 * ctnet-cni against the CNI 1.1 spec, one test per rule. Each test drives the real executable as a
 * runtime does (CNI_* in the environment, the request config on stdin, the result on stdout and the
 * exit code) and checks the kernel with independent tools (`ip -j`, `nft -j`, ping, TCP) and the
 * state with the real `ctnet` CLI. Every test has its own state dir (given through the config's
 * `stateDir` key, never the environment), namespaces, network name and subnet 10.88.N.0/24.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Ctnet } from '../../src/index.js';
import {
  cli,
  CNI_PLUGIN,
  cniExec,
  type CniExecResult,
  containerSnapshot,
  ctnetStateDir,
  foreignLink,
  type IpAddrInfo,
  ipJson,
  type IpLink,
  newNetns,
  ping,
  pluginExec,
  REPO_ROOT,
  routes,
  sandboxSkipReason,
  sh,
  stableHostSnapshot,
  tcpProbe,
  tcpRequest,
  tcpServer,
  waitForDad,
  withUplink,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

interface ResultInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

interface CniResultJson {
  cniVersion: string;
  interfaces: ResultInterface[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: unknown;
}

interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

interface EndpointJson {
  network: string;
  container: string;
  ifname: string;
  hostIfname: string;
  addresses: string[];
  mac: string;
  owner: string;
  ports: unknown[];
}

interface NetworkJson {
  name: string;
  bridge: string | null;
  subnets: { subnet: string; gateway: string }[];
}

interface LinkDetail extends IpLink {
  linkinfo?: { info_kind?: string };
}

/** The request config of network `name` on 10.88.N.0/24 (what a runtime derives from a conflist). */
function netconf(name: string, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.1.0', name, type: 'ctnet', subnets: [`10.88.${n}.0/24`], ...extra };
}

/** The CNI environment of one attachment. */
function cniEnv(command: string, containerId: string, ns: string | undefined, ifname = 'eth0', extra: Record<string, string> = {}): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    ...(ns === undefined ? {} : { CNI_NETNS: `/run/netns/${ns}` }),
    CNI_IFNAME: ifname,
    CNI_PATH: '/usr/lib/cni',
    ...extra,
  };
}

function describeRun(r: CniExecResult): string {
  return `exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
}

/** A successful ADD: exit 0, one JSON result on stdout, nothing on stderr. */
function addResult(r: CniExecResult): CniResultJson {
  assert.equal(r.code, 0, describeRun(r));
  assert.equal(r.stderr, '', describeRun(r));
  return JSON.parse(r.stdout) as CniResultJson;
}

/** A success that prints nothing (DEL, CHECK, STATUS, GC). */
function silentOk(r: CniExecResult): void {
  assert.equal(r.code, 0, describeRun(r));
  assert.equal(r.stdout, '', describeRun(r));
}

/** A failure: non-zero exit and the spec's error object on stdout. */
function cniError(r: CniExecResult, code?: number): CniErrorJson {
  assert.notEqual(r.code, 0, describeRun(r));
  const body = JSON.parse(r.stdout) as CniErrorJson;
  assert.equal(typeof body.cniVersion, 'string', describeRun(r));
  assert.equal(typeof body.code, 'number', describeRun(r));
  assert.equal(typeof body.msg, 'string', describeRun(r));
  if (code !== undefined) assert.equal(body.code, code, describeRun(r));
  return body;
}

async function ctnetLs(stateDir: string): Promise<EndpointJson[]> {
  const r = await cli(stateDir, ['--json', 'ls']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as EndpointJson[];
}

async function ctnetNetworks(stateDir: string): Promise<NetworkJson[]> {
  const r = await cli(stateDir, ['--json', 'network', 'ls']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as NetworkJson[];
}

async function hostLinks(): Promise<LinkDetail[]> {
  return ipJson<LinkDetail[]>(['-d', 'link', 'show']);
}

/** `ip -n NS -j addr show dev IF`, or undefined when the interface is not there. */
async function containerIf(ns: string, ifname: string): Promise<IpAddrInfo | undefined> {
  return (await ipJson<IpAddrInfo[]>(['addr', 'show'], ns)).find((l) => l.ifname === ifname);
}

function inet4(link: IpAddrInfo | undefined): string[] {
  return (link?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

/** The container interface of a result: the one with a sandbox, which every IP must point at. */
function sandboxInterface(res: CniResultJson): { index: number; iface: ResultInterface } {
  const index = res.interfaces.findIndex((i) => i.sandbox !== undefined && i.sandbox !== '');
  const iface = res.interfaces[index];
  assert.ok(iface !== undefined, `no interface with a sandbox in ${JSON.stringify(res.interfaces)}`);
  return { index, iface };
}

/** ADD a container that must succeed. */
async function addOk(stateDir: string, conf: Record<string, unknown>, env: Record<string, string>): Promise<CniResultJson> {
  return addResult(await cniExec(stateDir, env, conf));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** State dir, one namespace and the config of network `name` on 10.88.N.0/24: the start of most tests. */
async function setup(t: TestContext, name: string, n: number): Promise<{ stateDir: string; ns: string; conf: Record<string, unknown> }> {
  const stateDir = ctnetStateDir(t);
  const ns = await newNetns(t, 'k');
  return { stateDir, ns, conf: netconf(name, n, { stateDir }) };
}

test('VERSION lists 1.0.0 and 1.1.0 and echoes the requested version', { skip }, async () => {
  for (const v of ['1.1.0', '1.0.0']) {
    const r = await cniExec(undefined, { CNI_COMMAND: 'VERSION' }, { cniVersion: v });
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: v, supportedVersions: ['1.0.0', '1.1.0'] });
  }
});

test('ADD returns the spec result, and the kernel agrees with it', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni1', 1);
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-add', ns));

  assert.equal(res.cniVersion, '1.1.0');
  for (const i of res.interfaces) assert.equal(typeof i.name, 'string');
  const { index, iface } = sandboxInterface(res);
  assert.equal(iface.name, 'eth0');
  assert.equal(iface.sandbox, `/run/netns/${ns}`, 'sandbox is CNI_NETNS as given');
  assert.match(iface.mac ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(res.interfaces.filter((i) => i.sandbox !== undefined && i.sandbox !== '').length, 1, 'one interface in the sandbox');
  assert.equal(res.ips.length, 1);
  const ip = res.ips[0];
  assert.ok(ip !== undefined);
  assert.match(ip.address, /^10\.88\.1\.\d+\/24$/);
  assert.equal(ip.gateway, '10.88.1.1');
  assert.equal(ip.interface, index, 'the IP points at the container interface');
  assert.deepEqual(res.routes, [{ dst: '0.0.0.0/0', gw: '10.88.1.1' }]);

  // Inside: the address, MAC and MTU of the result, and the default route via the gateway.
  const eth0 = await containerIf(ns, 'eth0');
  assert.ok(eth0 !== undefined);
  assert.deepEqual(inet4(eth0), [ip.address]);
  assert.equal(eth0.address, iface.mac);
  if (iface.mtu !== undefined) assert.equal(eth0.mtu, iface.mtu);
  assert.ok(eth0.flags.includes('UP'));
  const def = (await routes(ns)).find((r) => r.dst === 'default');
  assert.deepEqual([def?.gateway, def?.dev], ['10.88.1.1', 'eth0']);

  // Host side: the result's host interfaces are a bridge holding the gateway and a veth on it.
  const host = await hostLinks();
  const hostIfs = res.interfaces.filter((i) => i.sandbox === undefined || i.sandbox === '').map((i) => host.find((l) => l.ifname === i.name));
  const bridge = hostIfs.find((l) => l?.linkinfo?.info_kind === 'bridge');
  const veth = hostIfs.find((l) => l?.linkinfo?.info_kind === 'veth');
  assert.ok(bridge !== undefined && veth !== undefined, `host interfaces of the result: ${JSON.stringify(hostIfs.map((l) => l?.ifname))}`);
  assert.equal(veth.master, bridge.ifname, 'the host veth is a port of the bridge');
  assert.ok(veth.flags.includes('UP'));
  const bridgeAddrs = await ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', bridge.ifname]);
  assert.deepEqual(inet4(bridgeAddrs[0]), ['10.88.1.1/24']);
  assert.ok(await ping(ns, '10.88.1.1'), 'the container reaches its gateway');
});

test('the network is created on the first ADD; a conflicting subnet under the same name is code 7 and changes nothing', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni2', 2);
  const ns2 = await newNetns(t, 'k');
  assert.deepEqual(await ctnetNetworks(stateDir), []);
  await addOk(stateDir, conf, cniEnv('ADD', 'ctr-first', ns));
  const nets = await ctnetNetworks(stateDir);
  assert.deepEqual(
    nets.map((n) => [n.name, n.subnets]),
    [['cni2', [{ subnet: '10.88.2.0/24', gateway: '10.88.2.1' }]]],
  );
  assert.ok((await routes()).some((r) => r.dst === '10.88.2.0/24'), 'the host routes the new subnet');

  await waitForDad([ns, ns2]);
  const host = await stableHostSnapshot();
  const inside = await containerSnapshot(ns2);
  const ls = await ctnetLs(stateDir);
  const err = cniError(await cniExec(stateDir, cniEnv('ADD', 'ctr-second', ns2), netconf('cni2', 3, { stateDir })), 7);
  assert.match(err.details ?? '', /10\.88\.3\.0\/24/, 'the details name the conflicting subnet');
  assert.equal(err.cniVersion, '1.1.0');
  assert.equal(await stableHostSnapshot(), host, 'the host is unchanged');
  assert.equal(await containerSnapshot(ns2), inside, 'the container is unchanged');
  assert.deepEqual(await ctnetLs(stateDir), ls, 'the state is unchanged');
  assert.deepEqual(await ctnetNetworks(stateDir), nets);
});

test('ADD with cniVersion 1.0.0 works and answers in 1.0.0', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni4', 4);
  const res = await addOk(stateDir, { ...conf, cniVersion: '1.0.0' }, cniEnv('ADD', 'ctr-v100', ns));
  assert.equal(res.cniVersion, '1.0.0');
  assert.deepEqual(inet4(await containerIf(ns, 'eth0')), [res.ips[0]?.address]);
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-v100', ns), { ...conf, cniVersion: '1.0.0', prevResult: res }));
});

test('an unsupported cniVersion is code 1, and nothing is created', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni5', 5);
  for (const v of ['0.4.0', '2.0.0', '']) {
    const err = cniError(await cniExec(stateDir, cniEnv('ADD', 'ctr-v', ns), { ...conf, cniVersion: v }), 1);
    assert.match(err.details ?? '', /1\.0\.0, 1\.1\.0/);
  }
  assert.deepEqual(await ctnetNetworks(stateDir), []);
  assert.equal(await containerIf(ns, 'eth0'), undefined);
});

test('malformed JSON on stdin is code 6', { skip }, async (t) => {
  const { stateDir, ns } = await setup(t, 'cni6', 6);
  for (const text of ['{"cniVersion": "1.1.0", "name": ', 'not json', '']) {
    cniError(await cniExec(stateDir, cniEnv('ADD', 'ctr-json', ns), text), 6);
  }
  assert.equal(await containerIf(ns, 'eth0'), undefined);
});

test('missing environment variables are code 4, naming them', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni7', 7);
  const cases: Array<[env: Record<string, string>, name: string]> = [
    [{ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' }, 'CNI_NETNS'],
    [{ CNI_COMMAND: 'ADD', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' }, 'CNI_CONTAINERID'],
    [{ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: `/run/netns/${ns}` }, 'CNI_IFNAME'],
    [{ CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' }, 'CNI_NETNS'],
    [{ CNI_COMMAND: 'DEL', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' }, 'CNI_CONTAINERID'],
    [{ CNI_COMMAND: 'BOGUS', CNI_CONTAINERID: 'c', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' }, 'CNI_COMMAND'],
  ];
  for (const [env, name] of cases) {
    const err = cniError(await cniExec(stateDir, env, conf), 4);
    assert.ok(`${err.msg} ${err.details ?? ''}`.includes(name), `${JSON.stringify(err)} should name ${name}`);
  }
  assert.deepEqual(await ctnetNetworks(stateDir), []);
  assert.equal(await containerIf(ns, 'eth0'), undefined);
});

const REFERENCE_BRIDGE = '/usr/lib/cni/bridge';

test('without CNI_COMMAND, `ctnet-cni --help` prints its name, version and CNI versions to stderr and exits 0, as the reference plugins do', { skip }, async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const args of [['--help'], []]) {
    const r = await pluginExec(process.execPath, [CNI_PLUGIN, ...args], {}, '');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, '', describeRun(r));
    assert.equal(r.stderr, `CNI ctnet plugin v${pkg.version}\nCNI protocol versions supported: 1.0.0, 1.1.0\n`);
  }
  if (!existsSync(REFERENCE_BRIDGE)) {
    t.diagnostic(`${REFERENCE_BRIDGE} is not installed: the banner is not compared with the reference plugin's`);
    return;
  }
  const ref = await pluginExec(REFERENCE_BRIDGE, ['--help'], {}, '');
  const banner = /^CNI \S+ plugin \S.*\nCNI protocol versions supported: \d+\.\d+\.\d+(, \d+\.\d+\.\d+)*\n$/;
  assert.match(ref.stderr, banner, 'the reference bridge plugin prints the same two lines');
  assert.deepEqual([ref.code, ref.stdout], [0, '']);
});

test('as uid 65534, ADD, DEL, CHECK, STATUS and GC are code 50 "ctnet-cni must run as root", and nothing is created', { skip }, async (t) => {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  if (setpriv === undefined) {
    t.skip('setpriv (util-linux) is not installed');
    return;
  }
  const { stateDir, ns, conf } = await setup(t, 'cni36', 36);
  const asNobody = (env: Record<string, string>, stdin: Record<string, unknown>): Promise<CniExecResult> =>
    pluginExec(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CNI_PLUGIN], env, JSON.stringify(stdin));
  const cases: Array<[command: string, env: Record<string, string>, stdin: Record<string, unknown>]> = [
    ['ADD', cniEnv('ADD', 'ctr-nobody', ns), conf],
    ['DEL', cniEnv('DEL', 'ctr-nobody', ns), conf],
    ['CHECK', cniEnv('CHECK', 'ctr-nobody', ns), { ...conf, prevResult: { cniVersion: '1.1.0', interfaces: [], ips: [] } }],
    ['STATUS', { CNI_COMMAND: 'STATUS' }, conf],
    ['GC', { CNI_COMMAND: 'GC' }, { ...conf, 'cni.dev/valid-attachments': [] }],
  ];
  for (const [command, env, stdin] of cases) {
    const r = await asNobody(env, stdin);
    const err = cniError(r, 50);
    assert.equal(err.msg, 'ctnet-cni must run as root', describeRun(r));
    assert.match(err.details ?? '', new RegExp(`^${command} runs as uid 65534`), describeRun(r));
    assert.equal(err.cniVersion, '1.1.0', 'in the request\'s version');
  }
  // VERSION needs nothing of root's.
  const version = await asNobody({ CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
  assert.equal(version.code, 0, describeRun(version));
  assert.deepEqual(await ctnetNetworks(stateDir), [], 'no network was created');
  assert.equal(await containerIf(ns, 'eth0'), undefined);
});

/** ctnet-cni as cniExec runs it, but with its stdout closed from the start: writing the result fails (EPIPE). */
async function cniExecStdoutClosed(env: Record<string, string>, conf: Record<string, unknown>): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, [CNI_PLUGIN], { env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(JSON.stringify(conf));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => { resolve(c ?? -1); }));
  return { code, stderr };
}

test('an ADD whose result cannot be written disconnects what it made and fails', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni37', 37);
  const portConf = { ...conf, runtimeConfig: { portMappings: [{ hostPort: 18037, containerPort: 8037, protocol: 'tcp' }] } };
  const r = await cniExecStdoutClosed(cniEnv('ADD', 'ctr-epipe', ns), portConf);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^ctnet-cni: failed to write the ADD result: .*EPIPE/);
  assert.deepEqual(await ctnetLs(stateDir), [], 'no attachment is recorded');
  assert.equal(await containerIf(ns, 'eth0'), undefined, 'the container has no interface');
  assert.deepEqual((await hostLinks()).filter((l) => l.linkinfo?.info_kind === 'veth' && l.ifname.startsWith('ct')).map((l) => l.ifname), [], 'no veth is left');
  assert.doesNotMatch(await sh('nft', ['list', 'ruleset']), /\b18037\b/, 'the port is not published');
  // The same container can be added again, its port with it.
  const res = await addOk(stateDir, portConf, cniEnv('ADD', 'ctr-epipe', ns));
  assert.equal((await ctnetLs(stateDir))[0]?.ports.length, 1);
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-epipe', ns), { ...portConf, prevResult: res }));
});

test('ADD twice for the same container and ifname is an error, and the first attachment stays intact', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni8', 8);
  const env = cniEnv('ADD', 'ctr-twice', ns);
  const first = await addOk(stateDir, conf, env);
  await waitForDad([ns]);
  const host = await stableHostSnapshot();
  const inside = await containerSnapshot(ns);
  const ls = await ctnetLs(stateDir);
  cniError(await cniExec(stateDir, env, conf));
  assert.equal(await containerSnapshot(ns), inside, 'the container is unchanged');
  assert.equal(await stableHostSnapshot(), host, 'the host is unchanged');
  assert.deepEqual(await ctnetLs(stateDir), ls, 'the state is unchanged');
  assert.deepEqual(inet4(await containerIf(ns, 'eth0')), [first.ips[0]?.address]);
  assert.ok(await ping(ns, '10.88.8.1'), 'the first attachment still works');
});

test('the same container with a second ifname (eth1) gets a second attachment without a default route', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni9', 9);
  const r0 = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-two', ns, 'eth0'));
  const r1 = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-two', ns, 'eth1'));
  assert.equal(sandboxInterface(r1).iface.name, 'eth1');
  assert.notEqual(r1.ips[0]?.address, r0.ips[0]?.address);
  assert.deepEqual(r1.routes ?? [], [], 'the second interface adds no default route');
  assert.deepEqual(inet4(await containerIf(ns, 'eth1')), [r1.ips[0]?.address]);
  assert.deepEqual(
    (await routes(ns)).filter((r) => r.dst === 'default').map((r) => r.dev),
    ['eth0'],
  );
  const ls = await ctnetLs(stateDir);
  assert.deepEqual(ls.map((e) => [e.container, e.ifname]).sort(), [['ctr-two', 'eth0'], ['ctr-two', 'eth1']]);

  // DEL of eth1 leaves eth0 alone.
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-two', ns, 'eth1'), { ...conf, prevResult: r1 }));
  assert.equal(await containerIf(ns, 'eth1'), undefined);
  assert.deepEqual(inet4(await containerIf(ns, 'eth0')), [r0.ips[0]?.address]);
  assert.deepEqual((await ctnetLs(stateDir)).map((e) => e.ifname), ['eth0']);
});

test('CHECK with prevResult passes, and fails once the interface is removed by hand', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni10', 10);
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-check', ns));
  silentOk(await cniExec(stateDir, cniEnv('CHECK', 'ctr-check', ns), { ...conf, prevResult: res }));
  await sh('ip', ['-n', ns, 'link', 'del', 'eth0']);
  const err = cniError(await cniExec(stateDir, cniEnv('CHECK', 'ctr-check', ns), { ...conf, prevResult: res }));
  assert.ok(err.code !== 0);
  // The runtime then calls DEL, which must still succeed and release the address.
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-check', ns), { ...conf, prevResult: res }));
  assert.deepEqual(await ctnetLs(stateDir), []);
});

test('CHECK of a network that does not exist fails and creates nothing', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni11', 11);
  const prevResult = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: `/run/netns/${ns}` }], ips: [{ address: '10.88.11.2/24', interface: 0 }] };
  cniError(await cniExec(stateDir, cniEnv('CHECK', 'ctr-nonet', ns), { ...conf, prevResult }));
  assert.deepEqual(await ctnetNetworks(stateDir), [], 'CHECK must not create the network');
});

test('DEL removes the veth and the IPAM row; a second DEL succeeds too', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni12', 12);
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-del', ns));
  const hostVeth = res.interfaces.find((i, k) => k !== sandboxInterface(res).index && i.name.startsWith('ct') && i.name !== 'ct-cni12');
  assert.ok(hostVeth !== undefined);
  assert.ok((await hostLinks()).some((l) => l.ifname === hostVeth.name));
  assert.equal((await ctnetLs(stateDir)).length, 1);

  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-del', ns), { ...conf, prevResult: res }));
  assert.ok(!(await hostLinks()).some((l) => l.ifname === hostVeth.name), 'the host veth is gone');
  assert.equal(await containerIf(ns, 'eth0'), undefined, 'the container interface is gone');
  assert.deepEqual(await ctnetLs(stateDir), [], 'ctnet ls shows nothing');

  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-del', ns), { ...conf, prevResult: res }));
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-del', ns), conf));
  // The released address is handed out again.
  const again = await addOk(stateDir, { ...conf, runtimeConfig: { ips: [res.ips[0]?.address ?? ''] } }, cniEnv('ADD', 'ctr-del2', ns));
  assert.equal(again.ips[0]?.address, res.ips[0]?.address);
});

test('DEL without CNI_NETNS succeeds and still releases', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni13', 13);
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-nonetns', ns));
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-nonetns', undefined), { ...conf, prevResult: res }));
  assert.deepEqual(await ctnetLs(stateDir), []);
  assert.equal(await containerIf(ns, 'eth0'), undefined, 'the veth is gone, so its container end too');
});

test('DEL after the namespace is deleted succeeds and releases', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni14', 14);
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-gone', ns));
  await sh('ip', ['netns', 'del', ns]);
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-gone', ns), { ...conf, prevResult: res }));
  assert.deepEqual(await ctnetLs(stateDir), []);
  const names = new Set((await hostLinks()).map((l) => l.ifname));
  for (const i of res.interfaces) if (i.sandbox === undefined && i.name !== 'ct-cni14') assert.ok(!names.has(i.name), `${i.name} is gone`);
});

test('DEL for a network ctnet does not know succeeds', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni15', 15);
  // No state at all yet.
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-unknown', ns), netconf('nothere', 16, { stateDir })));
  // A state with another network.
  await addOk(stateDir, conf, cniEnv('ADD', 'ctr-known', ns));
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-known', ns), netconf('nothere', 16, { stateDir })));
  assert.equal((await ctnetLs(stateDir)).length, 1, 'the other network\'s attachment is untouched');
  // A known network, an unknown container.
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-stranger', ns), conf));
  assert.equal((await ctnetLs(stateDir)).length, 1);
});

test('CNI_ARGS IP= and MAC= choose the address and the MAC', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni17', 17);
  const args = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;IP=10.88.17.50;MAC=02:42:0a:58:11:32';
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-args', ns, 'eth0', { CNI_ARGS: args }));
  assert.equal(res.ips[0]?.address, '10.88.17.50/24');
  assert.equal(sandboxInterface(res).iface.mac, '02:42:0a:58:11:32');
  const eth0 = await containerIf(ns, 'eth0');
  assert.deepEqual(inet4(eth0), ['10.88.17.50/24']);
  assert.equal(eth0?.address, '02:42:0a:58:11:32');

  // An unknown key without IgnoreUnknown is code 4; an address outside the subnet is code 7.
  const ns2 = await newNetns(t, 'k');
  cniError(await cniExec(stateDir, cniEnv('ADD', 'ctr-args2', ns2, 'eth0', { CNI_ARGS: 'FOO=1' }), conf), 4);
  cniError(await cniExec(stateDir, cniEnv('ADD', 'ctr-args2', ns2, 'eth0', { CNI_ARGS: 'IP=10.99.0.5' }), conf), 7);
  assert.equal(await containerIf(ns2, 'eth0'), undefined);
  assert.equal((await ctnetLs(stateDir)).length, 1);
});

test('runtimeConfig ips and mac choose the address and the MAC', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni18', 18);
  const res = await addOk(stateDir, { ...conf, runtimeConfig: { ips: ['10.88.18.60/24'], mac: '02:42:0a:58:12:3c' } }, cniEnv('ADD', 'ctr-rc', ns));
  assert.equal(res.ips[0]?.address, '10.88.18.60/24');
  assert.equal(sandboxInterface(res).iface.mac, '02:42:0a:58:12:3c');
  const eth0 = await containerIf(ns, 'eth0');
  assert.deepEqual(inet4(eth0), ['10.88.18.60/24']);
  assert.equal(eth0?.address, '02:42:0a:58:12:3c');
  const ls = await ctnetLs(stateDir);
  assert.deepEqual(ls.map((e) => [e.addresses, e.mac]), [[['10.88.18.60/24'], '02:42:0a:58:12:3c']]);
});

test('runtimeConfig portMappings publishes a port until DEL', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni19', 19);
  const { world, uplinkIp } = await withUplink(t);
  const portConf = { ...conf, capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 18019, containerPort: 8019, protocol: 'tcp' }] } };
  const res = await addOk(stateDir, portConf, cniEnv('ADD', 'ctr-port', ns));
  const containerIp = (res.ips[0]?.address ?? '').split('/')[0] ?? '';
  await tcpServer(t, ns, '0.0.0.0', 8019);
  assert.equal((await ctnetLs(stateDir))[0]?.ports.length, 1, 'ctnet ls shows the published port');

  assert.equal((await tcpRequest(undefined, '127.0.0.1', 18019, 'lo'))?.got, 'lo', 'from the host to 127.0.0.1');
  assert.equal((await tcpRequest(undefined, uplinkIp, 18019, 'up'))?.got, 'up', 'from the host to its uplink address');
  // From another host the client's address is kept (no SNAT).
  assert.deepEqual(await tcpRequest(world, uplinkIp, 18019, 'world'), { from: '198.51.100.1', got: 'world' });
  assert.ok(containerIp !== '');

  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-port', ns), { ...portConf, prevResult: res }));
  assert.equal(await tcpProbe(undefined, '127.0.0.1', 18019), undefined, 'not published after DEL (127.0.0.1)');
  assert.equal(await tcpProbe(undefined, uplinkIp, 18019), undefined, 'not published after DEL (uplink)');
  assert.equal(await tcpProbe(world, uplinkIp, 18019), undefined, 'not published after DEL (other host)');
});

test('STATUS succeeds', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  silentOk(await cniExec(stateDir, { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' }, netconf('cni20', 20, { stateDir })));
});

test('GC removes exactly the attachments not listed, and their IPAM rows', { skip }, async (t) => {
  const { stateDir, conf } = await setup(t, 'cni21', 21);
  const [na, nb, nc, nd] = [await newNetns(t, 'k'), await newNetns(t, 'k'), await newNetns(t, 'k'), await newNetns(t, 'k')];
  const ra = await addOk(stateDir, conf, cniEnv('ADD', 'gc-a', na));
  const rb = await addOk(stateDir, conf, cniEnv('ADD', 'gc-b', nb));
  const rc = await addOk(stateDir, conf, cniEnv('ADD', 'gc-c', nc));
  // An endpoint the CLI made is not the runtime's to collect.
  const byCli = await cli(stateDir, ['--json', 'connect', 'cni21', nd]);
  assert.equal(byCli.code, 0, byCli.stderr);
  const vethOf = (r: CniResultJson): string => r.interfaces[sandboxInterface(r).index - 1]?.name ?? '';

  const gc = { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'gc-a', ifname: 'eth0' }, { containerID: 'gc-c', ifname: 'eth0' }, { containerID: 'gc-gone', ifname: 'eth0' }] };
  silentOk(await cniExec(stateDir, { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, gc));
  assert.deepEqual((await ctnetLs(stateDir)).map((e) => e.container).sort(), ['gc-a', 'gc-c', nd].sort());
  const names = new Set((await hostLinks()).map((l) => l.ifname));
  assert.ok(names.has(vethOf(ra)) && names.has(vethOf(rc)), 'the listed attachments keep their veths');
  assert.ok(!names.has(vethOf(rb)), 'the unlisted attachment\'s veth is gone');
  assert.equal(await containerIf(nb, 'eth0'), undefined);
  assert.ok(await ping(na, '10.88.21.1'), 'a listed attachment still works');
  // b's address is free again.
  const nb2 = await newNetns(t, 'k');
  const again = await addOk(stateDir, { ...conf, runtimeConfig: { ips: [rb.ips[0]?.address ?? ''] } }, cniEnv('ADD', 'gc-b2', nb2));
  assert.equal(again.ips[0]?.address, rb.ips[0]?.address);

  // An empty list removes every CNI attachment of the network.
  silentOk(await cniExec(stateDir, { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, { ...conf, 'cni.dev/valid-attachments': [] }));
  assert.deepEqual((await ctnetLs(stateDir)).map((e) => e.container), [nd]);
  for (const ns of [na, nc, nb2]) assert.equal(await containerIf(ns, 'eth0'), undefined, `${ns} has no eth0`);
  assert.ok((await containerIf(nd, 'eth0')) !== undefined, 'the CLI endpoint stays');
});

test('GC without cni.dev/valid-attachments is code 7 and removes nothing', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni22', 22);
  await addOk(stateDir, conf, cniEnv('ADD', 'ctr-gc', ns));
  cniError(await cniExec(stateDir, { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, conf), 7);
  assert.equal((await ctnetLs(stateDir)).length, 1);
  // GC of a network that does not exist is fine.
  silentOk(await cniExec(stateDir, { CNI_COMMAND: 'GC' }, netconf('nothere', 23, { stateDir, 'cni.dev/valid-attachments': [] })));
});

test('the CLI and CNI share one address pool, and ctnet ls shows the runtime\'s container id', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni24', 24);
  const ns2 = await newNetns(t, 'k');
  const created = await cli(stateDir, ['network', 'create', 'cni24', '--subnet', '10.88.24.0/24']);
  assert.equal(created.code, 0, created.stderr);
  const byCli = await cli(stateDir, ['--json', 'connect', 'cni24', ns]);
  assert.equal(byCli.code, 0, byCli.stderr);
  const cliAddr = (JSON.parse(byCli.stdout) as EndpointJson).addresses[0];
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'f00dcafe0123', ns2));
  assert.notEqual(res.ips[0]?.address, cliAddr, 'distinct addresses from one pool');
  const ls = await ctnetLs(stateDir);
  const viaCni = ls.find((e) => e.container === 'f00dcafe0123');
  assert.ok(viaCni !== undefined, `ctnet ls: ${JSON.stringify(ls)}`);
  assert.deepEqual([viaCni.network, viaCni.ifname, viaCni.addresses, viaCni.owner], ['cni24', 'eth0', [res.ips[0]?.address], 'cni']);
  assert.equal(ls.length, 2);
  // The human table shows the id too.
  const table = await cli(stateDir, ['ls']);
  assert.match(table.stdout, /f00dcafe0123/);
  assert.ok(await ping(ns2, (cliAddr ?? '').split('/')[0] ?? ''), 'both containers are on one bridge');
});

test('the config\'s stateDir is honoured without CTNET_STATE_DIR, and wins over it', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni25', 25);
  const other = ctnetStateDir(t);
  // The plugin's environment holds only what cniExec passes: no CTNET_STATE_DIR.
  const res = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-sd', ns));
  assert.ok(existsSync(join(stateDir, 'ctnet.db')), 'the state database is in the config\'s stateDir');
  assert.equal((await ctnetLs(stateDir))[0]?.container, 'ctr-sd');
  // With a different CTNET_STATE_DIR in the environment (runtimes pass theirs through), the config wins.
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-sd', ns, 'eth0', { CTNET_STATE_DIR: other }), { ...conf, prevResult: res }));
  assert.deepEqual(await ctnetLs(stateDir), []);
  assert.deepEqual(readdirSync(other), [], 'nothing was written to the environment\'s state dir');
});

test('median wall time of one ctnet-cni ADD and one DEL', { skip }, async (t) => {
  const { stateDir, conf } = await setup(t, 'cni26', 26);
  const N = 15;
  const namespaces: string[] = [];
  for (let i = 0; i <= N; i++) namespaces.push(await newNetns(t, 'p'));
  // The first ADD creates the network; it is not counted.
  const warm = namespaces[0] ?? '';
  await addOk(stateDir, conf, cniEnv('ADD', 'warm', warm));
  const adds: number[] = [];
  const dels: number[] = [];
  for (let i = 1; i <= N; i++) {
    const ns = namespaces[i] ?? '';
    const a = await cniExec(stateDir, cniEnv('ADD', `perf${i}`, ns), conf);
    const res = addResult(a);
    adds.push(a.ms);
    const d = await cniExec(stateDir, cniEnv('DEL', `perf${i}`, ns), { ...conf, prevResult: res });
    silentOk(d);
    dels.push(d.ms);
  }
  const node0 = await timeNodeStartup();
  const line = `ctnet-cni median wall time over ${N} runs: ADD ${median(adds).toFixed(1)} ms, DEL ${median(dels).toFixed(1)} ms (node -e 0: ${node0.toFixed(1)} ms)`;
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});

/** Median wall time of `node -e 0` here, the floor under any Node plugin. */
async function timeNodeStartup(): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    await sh(process.execPath, ['-e', '0']);
    xs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(xs);
}

test('parallel ADDs of different containers on a network that does not exist yet all succeed', { skip }, async (t) => {
  // SPEC.md: "Plugins must handle being executed concurrently across different containers."
  const { stateDir, conf } = await setup(t, 'cni27', 27);
  const namespaces = await Promise.all([0, 1, 2, 3, 4, 5].map(() => newNetns(t, 'q')));
  const runs = await Promise.all(namespaces.map((ns, i) => cniExec(stateDir, cniEnv('ADD', `par${i}`, ns), conf)));
  const results = runs.map(addResult);
  const addresses = results.map((r) => r.ips[0]?.address);
  assert.equal(new Set(addresses).size, namespaces.length, `distinct addresses: ${addresses.join(', ')}`);
  for (const [i, ns] of namespaces.entries()) {
    assert.deepEqual(inet4(await containerIf(ns, 'eth0')), [addresses[i]]);
    assert.ok(await ping(ns, '10.88.27.1'), `${ns} reaches the gateway`);
  }
  assert.equal((await ctnetNetworks(stateDir)).length, 1);
  const dels = await Promise.all(namespaces.map((ns, i) => cniExec(stateDir, cniEnv('DEL', `par${i}`, ns), { ...conf, prevResult: results[i] })));
  dels.forEach(silentOk);
  assert.deepEqual(await ctnetLs(stateDir), []);
});

test('driver ptp through CNI: no bridge, the host veth holds the gateway', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni28', 28);
  const ptpConf = { ...conf, driver: 'ptp' };
  const res = await addOk(stateDir, ptpConf, cniEnv('ADD', 'ctr-ptp', ns));
  const { index, iface } = sandboxInterface(res);
  assert.equal(index, 1, 'the host veth, then the container interface');
  assert.equal(iface.name, 'eth0');
  const hostVeth = res.interfaces[0]?.name ?? '';
  const link = (await hostLinks()).find((l) => l.ifname === hostVeth);
  assert.equal(link?.linkinfo?.info_kind, 'veth');
  assert.equal(link?.master, undefined, 'no bridge');
  assert.deepEqual(inet4((await ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', hostVeth]))[0]).map((a) => a.split('/')[0]), ['10.88.28.1']);
  assert.equal(res.ips[0]?.gateway, '10.88.28.1');
  assert.ok(await ping(ns, '10.88.28.1'));
  silentOk(await cniExec(stateDir, cniEnv('DEL', 'ctr-ptp', ns), { ...ptpConf, prevResult: res }));
  assert.ok(!(await hostLinks()).some((l) => l.ifname === hostVeth));
});

test(
  'ADD while another process is still creating the network waits for it or fails without code 3',
  { skip },
  async (t) => {
    const { stateDir, ns, conf } = await setup(t, 'cni29', 29);
    let add: Promise<CniExecResult> | undefined;
    // The other process (this one, through the library) pauses right after recording the network,
    // before its bridge exists, long enough for the plugin to start and find the record.
    const ct = Ctnet.open({
      stateDir,
      onStep: async (step) => {
        if (step !== 'state') return;
        add = cniExec(stateDir, cniEnv('ADD', 'ctr-race', ns), conf);
        await new Promise((r) => setTimeout(r, 2000));
      },
    });
    t.after(() => { ct.close(); });
    await ct.createNetwork({ name: 'cni29', subnets: ['10.88.29.0/24'] });
    assert.ok(add !== undefined);
    const r = await add;
    if (r.code !== 0) {
      // Code 3 would tell the runtime that there is nothing to clean up; the namespace is there.
      assert.notEqual(cniError(r).code, 3, describeRun(r));
    }
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(inet4(await containerIf(ns, 'eth0')), [addResult(r).ips[0]?.address]);
  },
);

test('ADD into a namespace that does not exist is code 3 and leaves no attachment', { skip }, async (t) => {
  const { stateDir, conf } = await setup(t, 'cni30', 30);
  const err = cniError(await cniExec(stateDir, { ...cniEnv('ADD', 'ctr-nons', undefined), CNI_NETNS: '/run/netns/does-not-exist' }, conf), 3);
  assert.match(err.details ?? '', /does-not-exist/);
  assert.deepEqual(await ctnetLs(stateDir), []);
});

test('ADD of a new network whose subnet or bridge another network or interface has is code 7 and changes nothing', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni31', 31);
  const ns2 = await newNetns(t, 'k');
  await addOk(stateDir, conf, cniEnv('ADD', 'ctr-first', ns));
  // A host route that is no ctnet network's.
  await foreignLink(t, 'cniforeign32');
  await sh('ip', ['addr', 'add', '10.88.32.1/24', 'dev', 'cniforeign32']);
  await sh('ip', ['link', 'set', 'cniforeign32', 'up']);
  await sh('ip', ['link', 'set', 'cniforeign32p', 'up']);
  await waitForDad([ns, ns2]);
  const host = await stableHostSnapshot();
  const cases: Array<[what: string, conf: Record<string, unknown>, mention: RegExp]> = [
    ['a subnet inside another ctnet network\'s', netconf('cni31b', 0, { stateDir, subnets: ['10.88.31.128/25'] }), /10\.88\.31\./],
    ['a subnet the host routes', netconf('cni32', 32, { stateDir }), /10\.88\.32\.0\/24/],
    ['a bridge name an interface has', netconf('cni33', 33, { stateDir, bridge: 'cniforeign32' }), /cniforeign32/],
  ];
  for (const [what, c, mention] of cases) {
    const err = cniError(await cniExec(stateDir, cniEnv('ADD', 'ctr-second', ns2), c));
    assert.equal(err.code, 7, `${what}: ${JSON.stringify(err)}`);
    assert.match(err.details ?? '', mention, what);
  }
  assert.equal(await stableHostSnapshot(), host, 'the host is unchanged');
  assert.deepEqual((await ctnetNetworks(stateDir)).map((n) => n.name), ['cni31']);
  assert.equal(await containerIf(ns2, 'eth0'), undefined);
});

test('ADD with a prevResult of the wrong shape is code 7 naming the field, and changes nothing', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni34', 34);
  const ns2 = await newNetns(t, 'k');
  const iface = { name: 'eth0', sandbox: `/run/netns/${ns2}` };
  const shapes: Array<[prevResult: unknown, field: string]> = [];
  for (const key of ['ips', 'interfaces', 'routes']) {
    for (const bad of [5, true, { 0: {} }, 'eth0']) shapes.push([{ cniVersion: '1.1.0', [key]: bad }, `prevResult.${key}`]);
    shapes.push([{ cniVersion: '1.1.0', [key]: [7] }, `prevResult.${key}[0]`]);
  }
  shapes.push(
    [{ cniVersion: '1.1.0', interfaces: [iface], ips: [{ address: '10.88.34.200/24', interface: 3 }] }, 'prevResult.ips[0].interface'],
    [{ cniVersion: '1.1.0', ips: [{ address: 10 }] }, 'prevResult.ips[0].address'],
    [{ cniVersion: '1.1.0', dns: 'nameserver 10.88.34.1' }, 'prevResult.dns'],
    [[{ cniVersion: '1.1.0' }], 'prevResult'],
  );
  const refused = async (what: string): Promise<void> => {
    for (const [prevResult, field] of shapes) {
      const err = cniError(await cniExec(stateDir, cniEnv('ADD', 'ctr-badprev', ns2), { ...conf, prevResult }), 7);
      assert.ok((err.details ?? '').startsWith(`"${field}" `), `${what}, ${JSON.stringify(prevResult)}: ${JSON.stringify(err)} should name ${field}`);
    }
  };

  // On a network that does not exist yet, the network is not created.
  const hostBefore = await stableHostSnapshot();
  const insideBefore = await containerSnapshot(ns2);
  await refused('no network yet');
  assert.equal(await stableHostSnapshot(), hostBefore, 'the host is unchanged');
  assert.equal(await containerSnapshot(ns2), insideBefore, 'the container has no new interface');
  assert.deepEqual(await ctnetNetworks(stateDir), []);
  assert.deepEqual(await ctnetLs(stateDir), []);

  // On an existing network, the container is not attached.
  const first = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-first', ns));
  await waitForDad([ns, ns2]);
  const host = await stableHostSnapshot();
  const ls = await ctnetLs(stateDir);
  await refused('network exists');
  assert.equal(await stableHostSnapshot(), host, 'the host is unchanged');
  assert.equal(await containerSnapshot(ns2), insideBefore, 'the container has no new interface');
  assert.equal(await containerIf(ns2, 'eth0'), undefined);
  assert.deepEqual(await ctnetLs(stateDir), ls, 'ctnet ls shows no new endpoint');
  assert.deepEqual(ls.map((e) => e.container), ['ctr-first']);
  // The address a refused ADD would have taken is still free.
  const second = await addOk(stateDir, conf, cniEnv('ADD', 'ctr-badprev', ns2));
  assert.notEqual(second.ips[0]?.address, first.ips[0]?.address);
  assert.ok(await ping(ns2, '10.88.34.1'), 'the same container attaches once its prevResult is right');
});

test('ADD passes on the prevResult of earlier plugins, keys it does not know included', { skip }, async (t) => {
  const { stateDir, ns, conf } = await setup(t, 'cni35', 35);
  const prevResult = {
    cniVersion: '1.1.0',
    'example.com/owner': { plugin: 'earlier' },
    interfaces: [{ name: 'dummy0', vendorKey: 'kept' }],
    ips: [{ address: '192.0.2.10/24', interface: 0, note: 'kept' }],
    routes: [{ dst: '198.51.100.0/24', gw: '192.0.2.1', table: 100 }],
    dns: { nameservers: ['192.0.2.53'], sortlist: ['192.0.2.0/24'] },
  };
  const res = await addOk(stateDir, { ...conf, prevResult }, cniEnv('ADD', 'ctr-chain', ns)) as CniResultJson & Record<string, unknown>;
  assert.deepEqual(res['example.com/owner'], prevResult['example.com/owner']);
  assert.deepEqual(res.interfaces[0], prevResult.interfaces[0]);
  assert.deepEqual(res.ips[0], prevResult.ips[0]);
  assert.deepEqual(res.routes?.[0], prevResult.routes[0]);
  assert.deepEqual(res.dns, prevResult.dns);
  // ctnet's own entries follow, and its IP points at its own interface.
  const { index, iface } = sandboxInterface(res);
  assert.equal(iface.name, 'eth0');
  assert.equal(res.ips[1]?.interface, index);
  assert.deepEqual(inet4(await containerIf(ns, 'eth0')), [res.ips[1]?.address]);
});
