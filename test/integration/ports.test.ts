/**
 * Published ports through the real CLI (`ctnet connect NET C -p ...`), checked with real traffic
 * and with what nftables and iproute2 report. Runs only as root inside scripts/sandbox.sh.
 *
 * ```
 *   world 198.51.100.1 ── 198.51.100.2 (sandbox = the host, "another machine" beyond its uplink)
 *                                │
 *   pp-a 10.84.1.0/24 (nat) ─────┤  srv (servers: tcp 80, 81, 82, udp 53), peer, c2, c3
 *   pp-b 10.84.2.0/24 (nat) ─────┤  other
 *   pp-i 10.84.3.0/24 (internal)─┘  nothing published
 * ```
 */
import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import {
  cli,
  cliOk,
  containerSnapshot,
  ctnetLinks,
  ctnetStateDir,
  hasCtnetTable,
  hostListener,
  newNetns,
  sandboxSkipReason,
  sh,
  stableHostSnapshot,
  tcpPortRequest,
  tcpPortsServer,
  tcpProbe,
  tcpRequest,
  tcpServer,
  udpEchoServer,
  udpRequest,
  waitForDad,
  withUplink,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

interface PortJson {
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  hostIp: string | null;
  hostPort: number;
  containerPort: number;
}

interface EndpointJson {
  id: string;
  network: string;
  container: string;
  addresses: string[];
  ports: PortJson[];
}

const WORLD_IP = '198.51.100.1';
const UPLINK_IP = '198.51.100.2';
const NET_A = { name: 'pp-a', subnet: '10.84.1.0/24', gateway: '10.84.1.1' };
const NET_B = { name: 'pp-b', subnet: '10.84.2.0/24', gateway: '10.84.2.1' };
const NET_I = { name: 'pp-i', subnet: '10.84.3.0/24', gateway: '10.84.3.1' };

async function endpoints(stateDir: string): Promise<EndpointJson[]> {
  return JSON.parse(await cliOk(stateDir, ['--json', 'ls'])) as EndpointJson[];
}

async function endpointOf(stateDir: string, network: string, container: string): Promise<EndpointJson> {
  const ep = (await endpoints(stateDir)).find((e) => e.network === network && e.container === container);
  assert.ok(ep !== undefined, `${container} is connected to ${network}`);
  return ep;
}

function addressOf(ep: EndpointJson): string {
  const [cidr] = ep.addresses;
  assert.ok(cidr !== undefined, `${ep.container} has an address`);
  return cidr.replace(/\/\d+$/, '');
}

type Json = Record<string, unknown>;

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `nft -j list table inet ctnet` as a list of objects; [] when the table does not exist. */
async function ctnetTable(): Promise<Json[]> {
  let out: string;
  try {
    out = await sh('nft', ['-j', 'list', 'table', 'inet', 'ctnet']);
  } catch {
    return [];
  }
  const doc: unknown = JSON.parse(out);
  assert.ok(isJson(doc) && Array.isArray(doc['nftables']), 'nft -j output has an nftables list');
  return (doc['nftables'] as unknown[]).filter(isJson);
}

/** Elements of the published-port maps (`pub*`), each as map name and element comment. */
function pubElements(table: readonly Json[]): { map: string; comment: string | undefined }[] {
  const out: { map: string; comment: string | undefined }[] = [];
  for (const item of table) {
    const map = item['map'];
    if (!isJson(map) || !String(map['name']).startsWith('pub') || !Array.isArray(map['elem'])) continue;
    for (const e of map['elem'] as unknown[]) {
      const key = Array.isArray(e) ? (e[0] as unknown) : undefined;
      const opts = isJson(key) && isJson(key['elem']) ? key['elem'] : undefined;
      const comment = opts?.['comment'];
      out.push({ map: String(map['name']), comment: typeof comment === 'string' ? comment : undefined });
    }
  }
  return out;
}

function ruleCount(table: readonly Json[]): number {
  return table.filter((item) => 'rule' in item).length;
}

/**
 * Run `ctnet ARGS`, which must be refused before any change: exit status not 0, nothing on stdout,
 * exactly one `ctnet: ` line on stderr containing every string of `mustName`, and the sandbox (links,
 * addresses, routes, ruleset, namespaces), `nft -j list ruleset`, `ctnet --json ls` and the
 * `containers` exactly as before.
 */
async function assertRefused(stateDir: string, args: readonly string[], mustName: readonly string[], containers: readonly string[]): Promise<string> {
  await waitForDad(containers);
  const snap = async (): Promise<string[]> => [
    await stableHostSnapshot(),
    await sh('nft', ['-j', 'list', 'ruleset']),
    await cliOk(stateDir, ['--json', 'ls']),
    ...(await Promise.all(containers.map((c) => containerSnapshot(c)))),
  ];
  const before = await snap();
  const r = await cli(stateDir, args);
  assert.notEqual(r.code, 0, `ctnet ${args.join(' ')} was refused (stdout: ${r.stdout})`);
  assert.equal(r.stdout, '', `ctnet ${args.join(' ')} printed nothing on stdout`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  const line = lines[0] ?? '';
  assert.match(line, /^ctnet: /);
  for (const part of mustName) assert.ok(line.includes(part), `${JSON.stringify(line)} names ${JSON.stringify(part)}`);
  const after = await snap();
  assert.equal(after[0], before[0], 'sandbox links, addresses, routes, ruleset and namespaces unchanged');
  assert.equal(after[1], before[1], 'nft -j list ruleset unchanged');
  assert.equal(after[2], before[2], 'ctnet --json ls unchanged');
  for (const [i, c] of containers.entries()) assert.equal(after[i + 3], before[i + 3], `container ${c} unchanged`);
  return line;
}

/** The answer of a TCP server behind host:port from `ns`, asserting there is one. */
async function reach(ns: string | undefined, host: string, port: number): Promise<{ from: string; got: string }> {
  const res = await tcpRequest(ns, host, port);
  assert.ok(res !== undefined, `${ns ?? 'the sandbox host'} reaches ${host}:${port}`);
  return res;
}

async function noReach(ns: string | undefined, host: string, port: number): Promise<void> {
  const res = await tcpProbe(ns, host, port);
  assert.equal(res, undefined, `${ns ?? 'the sandbox host'} must not reach ${host}:${port}, but got ${JSON.stringify(res)}`);
}

test('published ports through `ctnet connect -p`, with real traffic', { skip }, async (t: TestContext) => {
  const stateDir = ctnetStateDir(t);
  const { world } = await withUplink(t);
  // The world can address container subnets directly (through the host): only the firewall decides
  // what reaches a container that way.
  await sh('ip', ['-n', world, 'route', 'add', '10.84.0.0/16', 'via', UPLINK_IP]);

  await cliOk(stateDir, ['network', 'create', NET_A.name, '--subnet', NET_A.subnet]);
  await cliOk(stateDir, ['network', 'create', NET_B.name, '--subnet', NET_B.subnet]);
  await cliOk(stateDir, ['network', 'create', NET_I.name, '--subnet', NET_I.subnet, '--internal']);

  const srv = await newNetns(t, 'srv');
  const peer = await newNetns(t, 'peer');
  const other = await newNetns(t, 'oth');
  const c2 = await newNetns(t, 'c2-');
  const c3 = await newNetns(t, 'c3-');
  for (const ns of [srv, peer, other, c2, c3]) await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);

  const publish = ['-p', '18080:80', '-p', `${UPLINK_IP}:18082:80`, '-p', '18083:53/udp', '-p', '18090-18092:80-82', '-p', '0.0.0.0:18084:80'];
  const connected = JSON.parse(await cliOk(stateDir, ['--json', 'connect', NET_A.name, srv, ...publish])) as EndpointJson;
  await cliOk(stateDir, ['connect', NET_A.name, peer]);
  await cliOk(stateDir, ['connect', NET_B.name, other]);
  const srvEp = await endpointOf(stateDir, NET_A.name, srv);
  assert.equal(srvEp.id, connected.id);
  const srvIp = addressOf(srvEp);
  const peerIp = addressOf(await endpointOf(stateDir, NET_A.name, peer));
  const otherIp = addressOf(await endpointOf(stateDir, NET_B.name, other));

  await tcpServer(t, srv, '0.0.0.0', 80);
  await tcpPortsServer(t, srv, '0.0.0.0', [81, 82]);
  await udpEchoServer(t, srv, '0.0.0.0', 53);

  await t.test('ctnet ls shows the published ports', async () => {
    const want: PortJson[] = [
      { family: 4, protocol: 'tcp', hostIp: null, hostPort: 18080, containerPort: 80 },
      { family: 4, protocol: 'tcp', hostIp: UPLINK_IP, hostPort: 18082, containerPort: 80 },
      { family: 4, protocol: 'udp', hostIp: null, hostPort: 18083, containerPort: 53 },
      { family: 4, protocol: 'tcp', hostIp: null, hostPort: 18090, containerPort: 80 },
      { family: 4, protocol: 'tcp', hostIp: null, hostPort: 18091, containerPort: 81 },
      { family: 4, protocol: 'tcp', hostIp: null, hostPort: 18092, containerPort: 82 },
      // 0.0.0.0 is every IPv4 address, not an address of its own.
      { family: 4, protocol: 'tcp', hostIp: null, hostPort: 18084, containerPort: 80 },
    ];
    assert.deepEqual(srvEp.ports, want);
    assert.deepEqual(connected.ports, want);
    const human = await cliOk(stateDir, ['ls']);
    const row = human.split('\n').find((l) => l.startsWith(srv));
    assert.ok(row?.endsWith('0.0.0.0:18080->80/tcp, 0.0.0.0:18084->80/tcp, 0.0.0.0:18090-18092->80-82/tcp, 0.0.0.0:18083->53/udp, 198.51.100.2:18082->80/tcp'), String(row));
    // One element per port in each map of a pair, tagged with the endpoint.
    const mine = pubElements(await ctnetTable()).filter((e) => e.comment === `ctnet ep ${srvEp.id}`);
    assert.equal(mine.length, 2 * want.length, JSON.stringify(mine));
  });

  await t.test('-p 18080:80: reachable from another machine, which keeps its address', async () => {
    assert.equal((await reach(world, UPLINK_IP, 18080)).from, WORLD_IP);
  });

  await t.test('-p 18080:80: reachable from the host on 127.0.0.1 and on its uplink address', async () => {
    await reach(undefined, '127.0.0.1', 18080);
    await reach(undefined, UPLINK_IP, 18080);
    await reach(undefined, NET_A.gateway, 18080);
  });

  await t.test('-p 18080:80: reachable from a container of the same network, through the gateway and the uplink address', async () => {
    await reach(peer, NET_A.gateway, 18080);
    await reach(peer, UPLINK_IP, 18080);
    // And the container itself, directly, as always.
    assert.equal((await reach(peer, srvIp, 80)).from, peerIp);
  });

  await t.test('-p 18080:80: reachable from a container of another ctnet network, which keeps its address', async () => {
    assert.equal((await reach(other, UPLINK_IP, 18080)).from, otherIp);
    assert.equal((await reach(other, NET_B.gateway, 18080)).from, otherIp);
    // Isolation still holds for everything not published.
    await noReach(other, srvIp, 80);
  });

  await t.test('-p 18080:80: the publishing container reaches itself through the gateway (hairpin)', async () => {
    await reach(srv, NET_A.gateway, 18080);
    await reach(srv, UPLINK_IP, 18080);
  });

  await t.test('what is not published does not answer from another machine', async () => {
    await noReach(world, UPLINK_IP, 18081);
    await noReach(world, UPLINK_IP, 80);
    await noReach(world, srvIp, 80);
    // The UDP port is published for UDP only.
    await noReach(world, UPLINK_IP, 18083);
  });

  await t.test('-p 198.51.100.2:18082:80 answers on that address only', async () => {
    assert.equal((await reach(world, UPLINK_IP, 18082)).from, WORLD_IP);
    await reach(undefined, UPLINK_IP, 18082);
    await reach(peer, UPLINK_IP, 18082);
    await noReach(undefined, '127.0.0.1', 18082);
    await noReach(undefined, NET_A.gateway, 18082);
    await noReach(peer, NET_A.gateway, 18082);
  });

  await t.test('-p 0.0.0.0:18084:80 answers on every IPv4 address', async () => {
    assert.equal((await reach(world, UPLINK_IP, 18084)).from, WORLD_IP);
    await reach(undefined, '127.0.0.1', 18084);
  });

  await t.test('-p 18083:53/udp: a UDP echo from another machine', async () => {
    const res = await udpRequest(world, UPLINK_IP, 18083, 1000, 'ping');
    assert.deepEqual(res, { from: WORLD_IP, got: 'ping' });
    assert.equal((await udpRequest(other, UPLINK_IP, 18083, 1000, 'pong'))?.got, 'pong');
    // Not on a UDP port that is not published.
    assert.equal(await udpRequest(world, UPLINK_IP, 18081, 500), undefined);
  });

  await t.test('-p 18090-18092:80-82 publishes three ports, each to its own container port', async () => {
    assert.equal((await reach(world, UPLINK_IP, 18090)).from, WORLD_IP);
    assert.equal((await tcpPortRequest(world, UPLINK_IP, 18091))?.port, 81);
    assert.equal((await tcpPortRequest(world, UPLINK_IP, 18092))?.port, 82);
    await noReach(world, UPLINK_IP, 18093);
  });

  await t.test('a host port another container publishes is refused before any change', async () => {
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18080:81'], ['18080'], [c2, srv]);
    // On another network, and with the other protocol's port, it is the same host port only for tcp.
    await assertRefused(stateDir, ['connect', NET_B.name, c2, '-p', '18080:80'], ['18080'], [c2]);
    // One address against every address, both ways round.
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '127.0.0.1:18080:80'], ['18080'], [c2]);
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18082:80'], ['18082'], [c2]);
    // A range with one taken port publishes none of it.
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18089-18090:80-81'], ['18090'], [c2]);
    await noReach(world, UPLINK_IP, 18089);
  });

  await t.test('a host port a listening process holds is refused before any change', async () => {
    const wild = await hostListener(t, 'tcp', '0.0.0.0', 18099);
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18099:80'], ['18099'], [c2]);
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', `${UPLINK_IP}:18099:80`], ['18099'], [c2]);
    await wild.stop();
    // A listener on one address against a mapping on every address.
    const one = await hostListener(t, 'tcp', '127.0.0.1', 18098);
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18098:80'], ['18098'], [c2]);
    await one.stop();
    // An IPv6 wildcard listener takes IPv4 too.
    const wild6 = await hostListener(t, 'tcp', '::', 18097);
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18097:80'], ['18097'], [c2]);
    await wild6.stop();
    // A bound UDP socket holds its UDP port.
    const udp = await hostListener(t, 'udp', '0.0.0.0', 18096);
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18096:53/udp'], ['18096'], [c2]);
    await udp.stop();
  });

  await t.test('-p on an --internal network is refused before any change', async () => {
    await assertRefused(stateDir, ['connect', NET_I.name, c2, '-p', '18085:80'], ['18085', NET_I.name, 'internal'], [c2]);
  });

  await t.test('-p on an address the host does not have is refused before any change', async () => {
    // 203.0.113.9 is routed through the uplink but is no local address: DNAT could never match it.
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '203.0.113.9:18086:80'], ['203.0.113.9', 'not an address of this host'], [c2]);
  });

  await t.test('a malformed -p is refused before any change, naming the mapping', async () => {
    for (const bad of ['18080', 'a:b', '0:80', '70000:80', '18085:80/sctp', '[::1:18085:80', '1.2.3:18085:80', '18085-18086:80', '[fd00::1]:18085:80']) {
      await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', bad], [bad], [c2]);
    }
    // The same host port twice in one connect.
    await assertRefused(stateDir, ['connect', NET_A.name, c2, '-p', '18085:80', '-p', '127.0.0.1:18085:81'], ['18085'], [c2]);
  });

  await t.test('disconnect removes the mappings, and the host port can be published again', async () => {
    await cliOk(stateDir, ['disconnect', NET_A.name, srv]);
    const left = pubElements(await ctnetTable()).filter((e) => e.comment === `ctnet ep ${srvEp.id}`);
    assert.deepEqual(left, []);
    await noReach(world, UPLINK_IP, 18080);
    await noReach(undefined, '127.0.0.1', 18080);
    assert.equal(await udpRequest(world, UPLINK_IP, 18083, 500), undefined);

    await cliOk(stateDir, ['connect', NET_A.name, c2, '-p', '18080:80']);
    await tcpServer(t, c2, '0.0.0.0', 80);
    const c2Ip = addressOf(await endpointOf(stateDir, NET_A.name, c2));
    assert.equal((await reach(world, UPLINK_IP, 18080)).from, WORLD_IP);
    // It is c2 answering: its own view of the connection has its own address as destination.
    assert.notEqual(c2Ip, srvIp);
    assert.deepEqual((await endpointOf(stateDir, NET_A.name, c2)).ports, [{ family: 4, protocol: 'tcp', hostIp: null, hostPort: 18080, containerPort: 80 }]);
  });

  await t.test('rules do not grow with published ports: 50 ports, the same rules as 1', async () => {
    const one = await ctnetTable();
    assert.equal(pubElements(one).length, 2, 'one port published (c2 18080/tcp), one element in each map of a pair');
    // Fifty IPv4 host ports within 18080-18099 (c2 holds 18080/tcp on every address): the same
    // ports on three loopback addresses, which are local addresses of the host like any other.
    const spec = ['-p', '127.0.0.2:18081-18099:1081-1099', '-p', '127.0.0.3:18081-18099:1081-1099', '-p', '127.0.0.4:18081-18092:1081-1092/udp'];
    const ep = JSON.parse(await cliOk(stateDir, ['--json', 'connect', NET_A.name, c3, ...spec])) as EndpointJson;
    assert.equal(ep.ports.length, 50);
    const fifty = await ctnetTable();
    assert.equal(ruleCount(fifty), ruleCount(one), 'the same number of rules');
    assert.equal(pubElements(fifty).length, pubElements(one).length + 100, 'one element per port in each map of a pair');
    assert.equal(pubElements(fifty).filter((e) => e.comment === `ctnet ep ${ep.id}`).length, 100);
    // Everything but the maps' elements is as it was: the same chains, sets and maps.
    const shape = (table: readonly Json[]): string[] =>
      table
        .filter((item) => !('rule' in item) && !('metainfo' in item))
        .map((item) => {
          const [kind, body] = Object.entries(item)[0] ?? ['', {}];
          return `${kind} ${isJson(body) ? String(body['name']) : ''}`;
        })
        .sort();
    assert.deepEqual(shape(fifty), shape(one));
    // A port of the fifty answers, on its address only: a server in c3 on container port 1099.
    await tcpPortsServer(t, c3, '0.0.0.0', [1099]);
    assert.equal((await tcpPortRequest(undefined, '127.0.0.3', 18099))?.port, 1099);
    await noReach(undefined, '127.0.0.1', 18099);
    await noReach(world, UPLINK_IP, 18099);
    await cliOk(stateDir, ['disconnect', NET_A.name, c3]);
    const after = await ctnetTable();
    assert.equal(ruleCount(after), ruleCount(one));
    assert.equal(pubElements(after).length, pubElements(one).length);
  });

  await t.test('cleanup leaves no ctnet links and no inet ctnet table', async () => {
    for (const ep of await endpoints(stateDir)) await cliOk(stateDir, ['disconnect', ep.network, ep.container]);
    for (const net of [NET_A, NET_B, NET_I]) await cliOk(stateDir, ['network', 'rm', net.name]);
    assert.deepEqual(await endpoints(stateDir), []);
    assert.deepEqual(await ctnetLinks(), []);
    assert.equal(await hasCtnetTable(), false);
    await noReach(world, UPLINK_IP, 18080);
  });
});

test('a whole port range through `ctnet connect -p 1-65535:1-65535`, and back', { skip }, async (t: TestContext) => {
  const stateDir = ctnetStateDir(t);
  const { world } = await withUplink(t);
  const net = { name: 'pp-w', subnet: '10.84.4.0/24' };
  await cliOk(stateDir, ['network', 'create', net.name, '--subnet', net.subnet]);
  const all = await newNetns(t, 'all');
  const other = await newNetns(t, 'oth');
  for (const ns of [all, other]) await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const before = pubElements(await ctnetTable()).length;

  await t.test('more ports of one family and protocol than there are is refused before any change, naming the limit and the count', async () => {
    const args = ['connect', net.name, all, '-p', '1-65535:1-65535', '-p', '127.0.0.1:1:1'];
    await assertRefused(stateDir, args, ['65536 IPv4 tcp ports', 'more than the 65535'], [all]);
    assert.equal((await cli(stateDir, args)).code, 2, 'bad input exits with 2');
  });

  const ep = JSON.parse(await cliOk(stateDir, ['--json', 'connect', net.name, all, '-p', '1-65535:1-65535'])) as EndpointJson;

  await t.test('every port is published: one element in each map of a pair, and real traffic at both ends', async () => {
    assert.equal(ep.ports.length, 65535);
    assert.deepEqual([ep.ports[0], ep.ports.at(-1)], [
      { family: 4, protocol: 'tcp', hostIp: null, hostPort: 1, containerPort: 1 },
      { family: 4, protocol: 'tcp', hostIp: null, hostPort: 65535, containerPort: 65535 },
    ]);
    const mine = pubElements(await ctnetTable()).filter((e) => e.comment === `ctnet ep ${ep.id}`);
    assert.equal(mine.length, 2 * 65535);
    await tcpPortsServer(t, all, '0.0.0.0', [1, 2, 65534, 65535]);
    for (const port of [1, 2, 65534, 65535]) {
      assert.deepEqual(await tcpPortRequest(world, UPLINK_IP, port), { from: WORLD_IP, got: 'hello', port }, `world -> ${UPLINK_IP}:${port}`);
    }
    assert.equal((await tcpPortRequest(undefined, '127.0.0.1', 65535))?.port, 65535);
    // UDP is not published.
    assert.equal(await udpRequest(world, UPLINK_IP, 65535, 500), undefined);
  });

  await t.test('any of the ports is refused to another container, naming it', async () => {
    const r = await cli(stateDir, ['connect', net.name, other, '-p', '127.0.0.1:40000-40001:80-81']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /port 4000[01]\/tcp on 127\.0\.0\.1 is already published by container "/);
  });

  await t.test('disconnect removes every element, and nothing answers any more', async () => {
    await cliOk(stateDir, ['disconnect', net.name, all]);
    const left = pubElements(await ctnetTable());
    assert.equal(left.filter((e) => e.comment === `ctnet ep ${ep.id}`).length, 0);
    assert.equal(left.length, before);
    await noReach(world, UPLINK_IP, 1);
    await noReach(world, UPLINK_IP, 65535);
    // The ports are free again in ctnet's state too.
    await cliOk(stateDir, ['connect', net.name, other, '-p', '65535:80']);
    await cliOk(stateDir, ['disconnect', net.name, other]);
    await cliOk(stateDir, ['network', 'rm', net.name]);
  });
});
