/**
 * Live repair without root: `Ctnet.repair()` on the engine's in-memory kernel and fake firewall
 * (what it mends, what it leaves alone), and which kernel events are reasons to look.
 */
import { strict as assert } from 'node:assert';
import { describe, test, type TestContext } from 'node:test';
import { type Lab, lab, NET, snapshot } from '../fake-engine.js';
import { parseIp } from '../inet/ip.js';
import type { KernelEvent } from '../netlink/monitor.js';
import { NFPROTO_INET, NFPROTO_IPV4 } from '../netlink/nftnl/constants.js';
import type { LinkInfo } from '../netlink/rtnl/link.js';
import { triggerOf, widenScope } from './repair-triggers.js';

const PORTS = { ports: [{ hostPort: 8080, containerPort: 80 }] };

async function labWithEndpoints(t: TestContext): Promise<Lab & { ids: string[] }> {
  const l = lab(t);
  await l.ct.createNetwork(NET);
  l.ns('c1');
  l.ns('c2');
  const ids = [(await l.ct.connect('net1', 'c1', PORTS)).id, (await l.ct.connect('net1', 'c2')).id];
  return { ...l, ids };
}

/** The host (a link made again comes last: sorted), the firewall and the records, for comparisons. */
function footprint(l: Lab): string {
  const host = snapshot(l.kernel.hostNs);
  return JSON.stringify({
    host: { ...host, links: host.links.sort() },
    firewall: [[...l.firewall.networks.keys()], [...l.firewall.endpoints.keys()]],
    endpoints: l.ct.listEndpoints().map((e) => `${e.container} ${e.status}`),
  });
}

function bridgeOf(l: Lab): { index: number; mac: string | undefined } {
  const bridge = l.kernel.hostNs.find(l.ct.inspectNetwork('net1').bridge ?? '');
  assert.ok(bridge !== undefined, 'the bridge is there');
  return { index: bridge.index, mac: bridge.mac };
}

describe('Ctnet.repair', () => {
  test('nothing broken: nothing reported, nothing changed', async (t) => {
    const l = await labWithEndpoints(t);
    const before = footprint(l);
    l.arm(undefined);
    assert.deepEqual(await l.ct.repair({ firewall: 'all' }), { networks: [], released: [] });
    assert.equal(footprint(l), before);
    assert.deepEqual(l.steps, [], 'no step of a change ran');
  });

  test('a deleted bridge: made again with its MAC and gateway, the host ends enslaved again', async (t) => {
    const l = await labWithEndpoints(t);
    const before = footprint(l);
    const { index, mac } = bridgeOf(l);
    l.kernel.hostNs.removeLink(index);
    const events = l.events.length;
    const report = await l.ct.repair();
    assert.deepEqual(report.networks.map((n) => [n.network, n.problems[0], n.remaining]), [['net1', 'bridge ct-net1 is missing', []]]);
    assert.equal(report.networks[0]?.problems.filter((p) => p.endsWith('is not a port of its bridge')).length, 2);
    assert.equal(bridgeOf(l).mac, mac, 'the same MAC as before');
    assert.equal(footprint(l), before);
    assert.equal(l.events.length, events, 'a repair announces no network or endpoint');
  });

  test('a host end set down is up again; forwarding switched off is on again', async (t) => {
    const l = await labWithEndpoints(t);
    const end = l.kernel.hostNs.find(l.ct.listEndpoints()[0]?.hostIfname ?? '');
    assert.ok(end !== undefined);
    end.up = false;
    l.kernel.sysctls.write('net/ipv4/ip_forward', '0');
    const [repaired] = (await l.ct.repair()).networks;
    assert.deepEqual(repaired?.problems.sort(), ['forwarding is off (net.ipv4.ip_forward is not 1)', `host interface ${end.name} is down`]);
    assert.equal(end.up, true);
    assert.equal(l.kernel.sysctls.read('net/ipv4/ip_forward'), '1');
  });

  test("a lost firewall is found by the cheap probe; one lost port only when the endpoint's objects are listed", async (t) => {
    const l = await labWithEndpoints(t);
    const [c1] = l.ids;
    l.firewall.networks.clear();
    l.firewall.endpoints.clear();
    assert.equal((await l.ct.repair()).networks.length, 1);
    assert.deepEqual([...l.firewall.endpoints.keys()], [c1], 'the published ports are back');
    l.firewall.endpoints.clear();
    assert.deepEqual((await l.ct.repair()).networks, [], 'the probe sees the network whole');
    const scoped = await l.ct.repair({ firewall: { networks: [], endpoints: [c1 ?? ''] } });
    assert.deepEqual(scoped.networks.map((n) => n.problems), [[`ports of endpoint ${c1} are missing`]]);
    assert.deepEqual([...l.firewall.endpoints.keys()], [c1]);
  });

  test('a vanished namespace is released: its address, ports and record go', async (t) => {
    const l = await labWithEndpoints(t);
    l.kernel.destroyNamespace('c1');
    const report = await l.ct.repair();
    assert.deepEqual(report.released.map((a) => [a.kind, a.subject]), [['release-endpoint', 'endpoint "c1" (eth0) on network "net1"']]);
    assert.deepEqual(report.networks, [], 'a host end gone with its namespace is no damage to the network');
    assert.deepEqual(l.ct.listEndpoints().map((e) => e.container), ['c2']);
    assert.equal(l.firewall.endpoints.size, 0);
    l.ns('c3');
    assert.deepEqual((await l.ct.connect('net1', 'c3', { ...PORTS, ips: ['10.68.0.2'] })).addresses, ['10.68.0.2/24'], 'the address and the port are free');
  });

  test('a network being created, and one told to be skipped, are left alone', async (t) => {
    const l = lab(t);
    await l.ct.createNetwork({ name: 'other', subnets: ['10.69.0.0/24'] });
    l.kernel.sysctls.write('net/ipv4/ip_forward', '0');
    assert.deepEqual(await l.ct.repair({ skip: new Set(['other']) }), { networks: [], released: [] });
    assert.equal(l.kernel.sysctls.read('net/ipv4/ip_forward'), '0');
    const frozen = l.freezeAt('firewall');
    void l.ct.createNetwork(NET);
    await frozen;
    l.kernel.hostNs.removeLink(bridgeOf(l).index);
    const before = footprint(l);
    assert.deepEqual((await l.ct.repair({ skip: new Set(['other']) })).networks, []);
    assert.equal(footprint(l), before, 'the create in progress was not fought');
  });

  test('a repair that fails is reported with its error, and the other networks are repaired', async (t) => {
    const l = lab(t);
    await l.ct.createNetwork({ name: 'a', subnets: ['10.69.0.0/24'] });
    await l.ct.createNetwork({ name: 'b', subnets: ['10.70.0.0/24'] });
    l.firewall.networks.clear();
    l.firewall.failNext = 'setupNetwork';
    const { networks } = await l.ct.repair();
    assert.deepEqual(networks.map((n) => [n.network, n.error]), [['a', 'firewall setupNetwork failed'], ['b', undefined]]);
    assert.equal(l.firewall.networks.size, 1);
  });
});

describe('repair triggers', () => {
  const link = (over: Partial<LinkInfo>): LinkInfo => ({
    index: 7, name: 'ct-n1', flags: 1, up: true, mtu: 1500, mac: undefined, masterIndex: undefined, kind: 'bridge',
    slaveKind: undefined, parentIndex: undefined, linkNetnsId: undefined, operstate: undefined, alias: 'ctnet:0a1b2c3d:aa11', ...over,
  });
  const ev = (op: 'new' | 'del', l: LinkInfo): KernelEvent => ({ type: 'link', op, link: l });

  test("ctnet's links deleted, down or unenslaved; other links and healthy ones: nothing", () => {
    assert.deepEqual(triggerOf(ev('del', link({}))), {});
    assert.deepEqual(triggerOf(ev('new', link({ up: false }))), {});
    assert.deepEqual(triggerOf(ev('new', link({ kind: 'veth' }))), {});
    assert.equal(triggerOf(ev('new', link({ kind: 'veth', masterIndex: 3 }))), undefined);
    assert.equal(triggerOf(ev('new', link({}))), undefined);
    assert.equal(triggerOf(ev('del', link({ alias: undefined, name: 'eth0' }))), undefined);
  });

  test('a deleted address, forwarding off for the namespace, an overrun', () => {
    const address = { index: 7, ip: parseIp('10.68.0.1'), prefix: 24, flags: 0, scope: 0 };
    assert.deepEqual(triggerOf({ type: 'address', op: 'del', address }), {});
    assert.equal(triggerOf({ type: 'address', op: 'new', address }), undefined);
    assert.deepEqual(triggerOf({ type: 'netconf', netconf: { family: 6, scope: 'all', index: -1, forwarding: false } }), {});
    assert.equal(triggerOf({ type: 'netconf', netconf: { family: 4, scope: 'link', index: 7, forwarding: false } }), undefined);
    assert.equal(triggerOf({ type: 'netconf', netconf: { family: 4, scope: 'all', index: -1, forwarding: true } }), undefined);
    assert.deepEqual(triggerOf({ type: 'overrun', source: 'nftables' }), { firewall: 'all' });
  });

  test("the ruleset: deletions in ctnet's table with the owners named; elsewhere deletions and chain changes the cheap check", () => {
    const at = { op: 'del', family: NFPROTO_INET, table: 'ctnet' } as const;
    const filter = { family: NFPROTO_IPV4, table: 'filter' } as const;
    assert.deepEqual(triggerOf({ type: 'nftables', change: { ...at, object: 'table' } }), { firewall: 'all' });
    assert.deepEqual(triggerOf({ type: 'nftables', change: { ...at, object: 'element', set: 'pub4_any_port', comments: ['ctnet ep e1'] } }), { firewall: { networks: [], endpoints: ['e1'] } });
    assert.equal(triggerOf({ type: 'nftables', change: { ...at, op: 'new', object: 'chain', chain: 'n-a1-in' } }), undefined);
    assert.deepEqual(triggerOf({ type: 'nftables', change: { ...filter, op: 'del', object: 'rule', chain: 'FORWARD', comment: undefined } }), {});
    assert.deepEqual(triggerOf({ type: 'nftables', change: { ...filter, op: 'new', object: 'chain', chain: 'FORWARD' } }), {}, 'a policy set to drop');
    assert.equal(triggerOf({ type: 'nftables', change: { ...filter, op: 'new', object: 'rule', chain: 'FORWARD', comment: undefined } }), undefined);
  });

  test('scopes widen: all wins, ids join', () => {
    assert.equal(widenScope(undefined, undefined), undefined);
    assert.equal(widenScope({ networks: ['n1'], endpoints: [] }, 'all'), 'all');
    assert.deepEqual(widenScope({ networks: ['n1'], endpoints: ['e1'] }, { networks: ['n1', 'n2'], endpoints: [] }), { networks: ['n1', 'n2'], endpoints: ['e1'] });
  });
});
