/**
 * The seed article, part by part, built with ctnet and checked with real traffic. Each test makes
 * its own "containers" (named namespaces) and state dir, uses its own subnet, and checks what the
 * kernel reports with `ip -j`, ping and TCP, never with ctnet's own read-back. At the end every test
 * removes what it made through ctnet and proves that nothing of ctnet's is left.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { describe, test, type TestContext } from 'node:test';
import { Ctnet } from '../../src/index.js';
import type { Endpoint } from '../../src/index.js';
import {
  addrs,
  cliOk,
  ctnetLinks,
  hasCtnetTable,
  hostFootprint,
  type IpAddrInfo,
  type IpRoute,
  linkNamed,
  links,
  newNetns,
  ping,
  pingSize,
  routes,
  sandboxSkipReason,
  sh,
  tcpProbe,
  tcpRequest,
  tcpServer,
  tempStateDir,
  withUplink,
  withUplink6,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

function open(t: TestContext, stateDir: string): Ctnet {
  const ct = Ctnet.open({ stateDir });
  t.after(() => { ct.close(); });
  return ct;
}

/** `ADDR/PREFIX` of one family on one interface, as `ip -j addr` reports them (link-local left out). */
function addressesOn(list: readonly IpAddrInfo[], ifname: string, family: 'inet' | 'inet6'): string[] {
  const link = list.find((l) => l.ifname === ifname);
  return (link?.addr_info ?? [])
    .filter((a) => a.family === family && a.scope !== 'link')
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

function defaultRoutes(list: readonly IpRoute[]): { gateway: string | undefined; dev: string | undefined }[] {
  return list.filter((r) => r.dst === 'default').map((r) => ({ gateway: r.gateway, dev: r.dev }));
}

/** Nothing of ctnet's is left: no ct* link, no `inet ctnet` table, the host exactly as before. */
async function assertNothingLeft(before: readonly string[]): Promise<void> {
  assert.deepEqual(await ctnetLinks(), [], 'no ctnet link is left');
  assert.equal(await hasCtnetTable(), false, 'no inet ctnet table is left');
  assert.deepEqual(await hostFootprint(), before, 'links, addresses, routes and rules as before');
}

describe('article', { skip }, () => {
  test('part 1: ptp network, host <-> container', async (t) => {
    const state = tempStateDir(t);
    const c1 = await newNetns(t);
    const before = await hostFootprint();

    await cliOk(state, ['network', 'create', 'p1', '--driver', 'ptp', '--subnet', '10.70.1.0/24']);
    const ep = JSON.parse(await cliOk(state, ['connect', 'p1', c1, '--json'])) as Endpoint;
    assert.deepEqual(ep.addresses, ['10.70.1.2/32']);

    const inside = await addrs(c1);
    assert.deepEqual(addressesOn(inside, 'eth0', 'inet'), ['10.70.1.2/32']);
    assert.deepEqual(defaultRoutes(await routes(c1)), [{ gateway: '10.70.1.1', dev: 'eth0' }]);
    // The host end holds the gateway as a host address and routes the container's /32 to it.
    assert.deepEqual(addressesOn(await addrs(), ep.hostIfname, 'inet'), ['10.70.1.1/32']);
    const hostRoute = (await routes()).filter((r) => r.dst === '10.70.1.2');
    assert.deepEqual(
      hostRoute.map((r) => ({ dev: r.dev, scope: r.scope, gateway: r.gateway })),
      [{ dev: ep.hostIfname, scope: 'link', gateway: undefined }],
    );

    assert.ok(await ping(undefined, '10.70.1.2'), 'host pings the container');
    assert.ok(await ping(c1, '10.70.1.1'), 'container pings its gateway');

    await cliOk(state, ['disconnect', 'p1', c1]);
    assert.equal((await routes()).some((r) => r.dst === '10.70.1.2'), false, 'host route removed');
    assert.equal(await linkNamed('eth0', c1), undefined, 'eth0 removed from the container');
    await cliOk(state, ['network', 'rm', 'p1']);
    await assertNothingLeft(before);
  });

  test('part 1 made general: a dual-stack ptp network routes between its containers at once', async (t) => {
    const ct = open(t, tempStateDir(t));
    const c1 = await newNetns(t);
    const c2 = await newNetns(t);
    const before = await hostFootprint();

    await ct.createNetwork({ name: 'p10', driver: 'ptp', subnets: ['10.70.10.0/24', 'fd00:70:10::/64'] });
    const e1 = await ct.connect('p10', c1);
    const e2 = await ct.connect('p10', c2);
    assert.deepEqual([e1.addresses, e2.addresses], [
      ['10.70.10.2/32', 'fd00:70:10::2/128'],
      ['10.70.10.3/32', 'fd00:70:10::3/128'],
    ]);
    // Right after connect: the host forwards between the two veths and must find c2 at once.
    assert.ok(await ping(c1, 'fd00:70:10::3'), 'c1 pings c2 over IPv6 through the host');
    assert.ok(await ping(c1, '10.70.10.3'), 'c1 pings c2 over IPv4 through the host');
    assert.ok(await ping(c2, 'fd00:70:10::2'), 'c2 pings c1 over IPv6');
    assert.ok(await ping(undefined, 'fd00:70:10::3'), 'the host pings c2 over IPv6');
    assert.deepEqual(defaultRoutes(await routes(c2, 6)), [{ gateway: 'fd00:70:10::1', dev: 'eth0' }]);
    assert.deepEqual(
      addressesOn(await addrs(), e2.hostIfname, 'inet6'),
      ['fd00:70:10::1/128'],
      'the host end holds the IPv6 gateway as a /128',
    );

    await ct.disconnect('p10', c1);
    await ct.disconnect('p10', c2);
    await ct.removeNetwork('p10');
    await assertNothingLeft(before);
  });

  test('part 2: bridge network, container <-> container', async (t) => {
    const ct = open(t, tempStateDir(t));
    const c1 = await newNetns(t);
    const c2 = await newNetns(t);
    const before = await hostFootprint();

    const net = await ct.createNetwork({ name: 'b2', subnets: ['10.70.2.0/24'] });
    assert.equal(net.bridge, 'ct-b2');
    const e1 = await ct.connect('b2', c1);
    const e2 = await ct.connect('b2', c2);
    assert.deepEqual([e1.addresses, e2.addresses], [['10.70.2.2/24'], ['10.70.2.3/24']]);

    const hostLinks = await links();
    for (const e of [e1, e2]) {
      assert.equal(hostLinks.find((l) => l.ifname === e.hostIfname)?.master, 'ct-b2', `${e.hostIfname} is a port of ct-b2`);
    }
    assert.deepEqual(addressesOn(await addrs(), 'ct-b2', 'inet'), ['10.70.2.1/24']);
    assert.deepEqual(addressesOn(await addrs(c1), 'eth0', 'inet'), ['10.70.2.2/24']);
    assert.deepEqual(addressesOn(await addrs(c2), 'eth0', 'inet'), ['10.70.2.3/24']);
    assert.deepEqual(defaultRoutes(await routes(c1)), [{ gateway: '10.70.2.1', dev: 'eth0' }]);

    assert.ok(await ping(c1, '10.70.2.3'), 'c1 pings c2');
    assert.ok(await ping(c2, '10.70.2.2'), 'c2 pings c1');
    assert.ok(await ping(c1, '10.70.2.1'), 'c1 pings the gateway');
    assert.ok(await ping(c2, '10.70.2.1'), 'c2 pings the gateway');

    await tcpServer(t, c2, '10.70.2.3', 7002);
    assert.deepEqual(await tcpRequest(c1, '10.70.2.3', 7002, 'part 2'), { from: '10.70.2.2', got: 'part 2' });

    await ct.disconnect('b2', c1);
    await ct.disconnect('b2', c2);
    await ct.removeNetwork('b2');
    await assertNothingLeft(before);
  });

  test('part 3: a NAT network reaches the internet, masqueraded', async (t) => {
    const ct = open(t, tempStateDir(t));
    const c1 = await newNetns(t);
    const { world, serverIp, uplinkIp } = await withUplink(t);
    await tcpServer(t, world, serverIp, 7003);
    const before = await hostFootprint();

    await ct.createNetwork({ name: 'n3', subnets: ['10.70.3.0/24'] });
    await ct.connect('n3', c1);
    // The world has no route back to 10.70.3.0/24: only a masqueraded connection gets an answer.
    assert.deepEqual(await tcpRequest(c1, serverIp, 7003, 'out'), { from: uplinkIp, got: 'out' });
    assert.ok(await ping(c1, '198.51.100.1'), 'container pings the world router');

    await ct.disconnect('n3', c1);
    await ct.removeNetwork('n3');
    await assertNothingLeft(before);
  });

  test('part 3: a --no-nat network is routed with the container address', async (t) => {
    const state = tempStateDir(t);
    const c1 = await newNetns(t);
    const { world, serverIp } = await withUplink(t);
    await tcpServer(t, world, serverIp, 7004);
    const before = await hostFootprint();

    await cliOk(state, ['network', 'create', 'r4', '--subnet', '10.70.4.0/24', '--no-nat']);
    await cliOk(state, ['connect', 'r4', c1]);
    // Not masqueraded, and the world has no route back: no answer.
    assert.equal(await tcpProbe(c1, serverIp, 7004), undefined);
    // With a route back the server sees the container's own address.
    await sh('ip', ['-n', world, 'route', 'add', '10.70.4.0/24', 'via', '198.51.100.2']);
    assert.deepEqual(await tcpRequest(c1, serverIp, 7004, 'routed'), { from: '10.70.4.2', got: 'routed' });

    await cliOk(state, ['disconnect', 'r4', c1]);
    await cliOk(state, ['network', 'rm', 'r4']);
    await assertNothingLeft(before);
  });

  test('part 3: an --internal network stays inside', async (t) => {
    const state = tempStateDir(t);
    const c1 = await newNetns(t);
    const c2 = await newNetns(t);
    const { world, serverIp } = await withUplink(t);
    await tcpServer(t, world, serverIp, 7005);
    // A route back, so that only ctnet's firewall can stop the traffic.
    await sh('ip', ['-n', world, 'route', 'add', '10.70.5.0/24', 'via', '198.51.100.2']);
    const before = await hostFootprint();

    await cliOk(state, ['network', 'create', 'i5', '--subnet', '10.70.5.0/24', '--internal']);
    await cliOk(state, ['connect', 'i5', c1]);
    await cliOk(state, ['connect', 'i5', c2]);
    assert.equal(await tcpProbe(c1, serverIp, 7005), undefined, 'no TCP to the internet');
    assert.equal(await ping(c1, '198.51.100.1'), false, 'no ping to the world router');
    assert.ok(await ping(c1, '10.70.5.3'), 'c1 pings c2');
    assert.ok(await ping(c2, '10.70.5.2'), 'c2 pings c1');
    assert.ok(await ping(c1, '10.70.5.1'), 'c1 pings the gateway');
    await tcpServer(t, c2, '10.70.5.3', 7006);
    assert.deepEqual(await tcpRequest(c1, '10.70.5.3', 7006, 'inside'), { from: '10.70.5.2', got: 'inside' });

    await cliOk(state, ['disconnect', 'i5', c1]);
    await cliOk(state, ['disconnect', 'i5', c2]);
    await cliOk(state, ['network', 'rm', 'i5']);
    await assertNothingLeft(before);
  });

  test('part 3 over IPv6: masquerade, and a --no-nat network the world reaches at once', async (t) => {
    const ct = open(t, tempStateDir(t));
    const c1 = await newNetns(t);
    const c2 = await newNetns(t);
    const { world, serverIp, uplinkIp } = await withUplink6(t);
    await tcpServer(t, world, serverIp, 7011);
    await sh('ip', ['-n', world, '-6', 'route', 'add', 'fd00:70:12::/64', 'via', uplinkIp]);
    const before = await hostFootprint();

    await ct.createNetwork({ name: 'r12', subnets: ['10.70.12.0/24', 'fd00:70:12::/64'], nat: false });
    await ct.connect('r12', c2);
    // The bridge got its first port just now; the host must find c2 for the world's packets at once.
    assert.ok(await ping(world, 'fd00:70:12::2'), 'the world pings a routed container right after connect');
    assert.deepEqual(await tcpRequest(c2, serverIp, 7011, 'routed'), { from: 'fd00:70:12::2', got: 'routed' });

    await ct.createNetwork({ name: 'n11', subnets: ['10.70.11.0/24', 'fd00:70:11::/64'] });
    await ct.connect('n11', c1);
    // No route back to fd00:70:11::/64 in the world: only a masqueraded connection gets an answer.
    assert.deepEqual(await tcpRequest(c1, serverIp, 7011, 'nat'), { from: uplinkIp, got: 'nat' });

    await ct.disconnect('n11', c1);
    await ct.disconnect('r12', c2);
    await ct.removeNetwork('n11');
    await ct.removeNetwork('r12');
    await assertNothingLeft(before);
  });

  test('a second network gives eth1 and no second default route', async (t) => {
    const ct = open(t, tempStateDir(t));
    const c1 = await newNetns(t);
    const before = await hostFootprint();

    await ct.createNetwork({ name: 'a6', subnets: ['10.70.6.0/24'] });
    await ct.createNetwork({ name: 'b7', subnets: ['10.70.7.0/24'] });
    const ea = await ct.connect('a6', c1);
    const eb = await ct.connect('b7', c1);
    assert.deepEqual([ea.ifname, eb.ifname], ['eth0', 'eth1']);

    const inside = await addrs(c1);
    assert.deepEqual(addressesOn(inside, 'eth0', 'inet'), ['10.70.6.2/24']);
    assert.deepEqual(addressesOn(inside, 'eth1', 'inet'), ['10.70.7.2/24']);
    const r = await routes(c1);
    assert.deepEqual(defaultRoutes(r), [{ gateway: '10.70.6.1', dev: 'eth0' }]);
    assert.ok(r.some((x) => x.dst === '10.70.7.0/24' && x.dev === 'eth1'), 'the second subnet is reached on eth1');
    assert.ok(await ping(c1, '10.70.6.1'), 'gateway of the first network');
    assert.ok(await ping(c1, '10.70.7.1'), 'gateway of the second network');

    await ct.disconnect('b7', c1);
    assert.deepEqual(
      (await links(c1)).map((l) => l.ifname).sort(),
      ['eth0', 'lo'],
      'only eth1 is gone from the container',
    );
    assert.deepEqual(defaultRoutes(await routes(c1)), [{ gateway: '10.70.6.1', dev: 'eth0' }]);
    const hostLinks = (await links()).map((l) => l.ifname);
    assert.ok(hostLinks.includes(ea.hostIfname) && !hostLinks.includes(eb.hostIfname), 'only the second host veth is gone');
    assert.ok(await ping(c1, '10.70.6.1'), 'the first network still works');

    await ct.disconnect('a6', c1);
    await ct.removeNetwork('a6');
    await ct.removeNetwork('b7');
    await assertNothingLeft(before);
  });

  test('dual stack: IPv4 and IPv6 on one network', async (t) => {
    const ct = open(t, tempStateDir(t));
    const c1 = await newNetns(t);
    const c2 = await newNetns(t);
    const before = await hostFootprint();

    await ct.createNetwork({ name: 'd8', subnets: ['10.70.8.0/24', 'fd00:70:8::/64'] });
    const e1 = await ct.connect('d8', c1);
    const e2 = await ct.connect('d8', c2);
    assert.deepEqual(e1.addresses, ['10.70.8.2/24', 'fd00:70:8::2/64']);
    assert.deepEqual(e2.addresses, ['10.70.8.3/24', 'fd00:70:8::3/64']);

    const inside = await addrs(c1);
    assert.deepEqual(addressesOn(inside, 'eth0', 'inet'), ['10.70.8.2/24']);
    assert.deepEqual(addressesOn(inside, 'eth0', 'inet6'), ['fd00:70:8::2/64']);
    const bridge = await addrs();
    assert.deepEqual(addressesOn(bridge, 'ct-d8', 'inet'), ['10.70.8.1/24']);
    assert.deepEqual(addressesOn(bridge, 'ct-d8', 'inet6'), ['fd00:70:8::1/64']);
    assert.deepEqual(defaultRoutes(await routes(c1, 4)), [{ gateway: '10.70.8.1', dev: 'eth0' }]);
    assert.deepEqual(defaultRoutes(await routes(c1, 6)), [{ gateway: 'fd00:70:8::1', dev: 'eth0' }]);

    assert.ok(await ping(c1, 'fd00:70:8::3'), 'c1 pings c2 over IPv6');
    assert.ok(await ping(c2, 'fd00:70:8::2'), 'c2 pings c1 over IPv6');
    assert.ok(await ping(c1, 'fd00:70:8::1'), 'c1 pings the IPv6 gateway');
    assert.ok(await ping(c1, '10.70.8.3'), 'c1 pings c2 over IPv4');
    await tcpServer(t, c2, 'fd00:70:8::3', 7008);
    assert.deepEqual(await tcpRequest(c1, 'fd00:70:8::3', 7008, 'v6'), { from: 'fd00:70:8::2', got: 'v6' });

    await ct.disconnect('d8', c1);
    await ct.disconnect('d8', c2);
    await ct.removeNetwork('d8');
    await assertNothingLeft(before);
  });

  test('--mtu, --mac and --ifname', async (t) => {
    const state = tempStateDir(t);
    const c1 = await newNetns(t);
    const before = await hostFootprint();

    await cliOk(state, ['network', 'create', 'm9', '--subnet', '10.70.9.0/24', '--mtu', '1400']);
    const ep = JSON.parse(
      await cliOk(state, ['connect', 'm9', c1, '--mac', '02:42:0A:46:09:05', '--ifname', 'ceth0', '--json']),
    ) as Endpoint;

    assert.equal((await linkNamed('ct-m9'))?.mtu, 1400, 'bridge mtu');
    assert.equal((await linkNamed(ep.hostIfname))?.mtu, 1400, 'host veth mtu');
    const inside = await linkNamed('ceth0', c1);
    assert.ok(inside !== undefined, 'the container interface is named ceth0');
    assert.equal(inside.mtu, 1400, 'container veth mtu');
    assert.equal(inside.address, '02:42:0a:46:09:05');
    assert.equal(await linkNamed('eth0', c1), undefined, 'no eth0');
    assert.deepEqual(addressesOn(await addrs(c1), 'ceth0', 'inet'), ['10.70.9.2/24']);
    // 1372 bytes of ICMP payload + 28 bytes of headers fill exactly 1400; one more does not fit.
    assert.ok(await pingSize(c1, '10.70.9.1', 1372), 'a full 1400-byte packet reaches the gateway unfragmented');
    assert.equal(await pingSize(c1, '10.70.9.1', 1373), false, 'a 1401-byte packet does not fit');

    await cliOk(state, ['disconnect', 'm9', c1]);
    await cliOk(state, ['network', 'rm', 'm9']);
    await assertNothingLeft(before);
  });
});
