/**
 * The engine on an in-memory kernel (`network/fake-kernel.ts`), a fake firewall and a state
 * database in a temporary directory: the orchestration (what each change makes, in which
 * namespace, what it records and announces, and how it rolls back) without root, and without
 * touching the host. The kernel's real behaviour is the integration suites' job.
 */
import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Ctnet } from './ctnet.js';
import { ConflictError, InvalidConfigError, IpamExhaustedError, NetlinkError, StateError } from './errors.js';
import { type Lab, lab, NET, snapshot, tempDir } from './fake-engine.js';
import { FakeFirewall } from './firewall/fake-firewall.js';
import { formatCidr } from './inet/cidr.js';
import { formatIp, parseIp } from './inet/ip.js';
import { FakeKernel, type RtnlVerb } from './network/fake-kernel.js';
import { StateStore } from './state/store.js';

const DUAL = { name: 'dual', subnets: ['10.69.0.0/24', 'fd00:69::/64'] };

describe('Ctnet on a fake kernel: create, connect, disconnect, remove', () => {
  test('createNetwork() makes the bridge with its gateway, turns forwarding on, sets up the firewall and says so', async (t) => {
    const { ct, kernel, firewall, events, sysctlChanges } = lab(t);
    const net = await ct.createNetwork(NET);
    assert.deepEqual(
      { name: net.name, driver: net.driver, bridge: net.bridge, subnets: net.subnets, status: net.status },
      { name: 'net1', driver: 'bridge', bridge: 'ct-net1', subnets: [{ subnet: '10.68.0.0/24', gateway: '10.68.0.1' }], status: 'ready' },
    );
    const bridge = kernel.hostNs.find('ct-net1');
    assert.equal(bridge?.kind, 'bridge');
    assert.equal(bridge.up, true);
    assert.equal(bridge.alias?.endsWith(`:${net.id}`), true, `marked as ctnet's: ${bridge.alias ?? ''}`);
    assert.ok(snapshot(kernel.hostNs).addresses.includes('10.68.0.1/24 dev ct-net1'));
    assert.equal(kernel.sysctls.read('net/ipv4/ip_forward'), '1');
    assert.equal(kernel.sysctls.read('net/ipv4/conf/ct-net1/route_localnet'), '1');
    assert.deepEqual(sysctlChanges.map((c) => `${c.key}=${c.value} own:${String(c.ownLink)}`), ['net.ipv4.conf.ct-net1.route_localnet=1 own:true', 'net.ipv4.ip_forward=1 own:false']);
    // The firewall gets parsed subnets.
    assert.deepEqual(firewall.networks.get(net.id)?.subnets.map(formatCidr), ['10.68.0.0/24']);
    assert.deepEqual(events, [{ name: 'network-created', subject: 'net1' }]);
    assert.deepEqual(ct.listNetworks(), [net]);
  });

  test('connect() makes a veth on the bridge, the container side with address, routes and loopback, and reports it as text', async (t) => {
    const { ct, kernel, events, ns } = lab(t);
    await ct.createNetwork(NET);
    const c1 = ns('c1');
    const ep = await ct.connect('net1', 'c1', { mac: '02:42:0A:44:00:02' });
    assert.deepEqual(
      { container: ep.container, network: ep.network, ifname: ep.ifname, mac: ep.mac, addresses: ep.addresses, gateways: ep.gateways, routes: ep.routes, status: ep.status },
      {
        container: 'c1',
        network: 'net1',
        ifname: 'eth0',
        mac: '02:42:0a:44:00:02',
        addresses: ['10.68.0.2/24'],
        gateways: ['10.68.0.1'],
        routes: [{ dst: '0.0.0.0/0', gateway: '10.68.0.1' }],
        status: 'ready',
      },
    );
    assert.deepEqual(snapshot(c1), {
      links: ['lo up', 'eth0 up'],
      addresses: ['10.68.0.2/24 dev eth0'],
      routes: ['10.68.0.2/32 dev eth0 table 255', '10.68.0.0/24 dev eth0 table 254', 'default via 10.68.0.1 dev eth0 table 254'],
    });
    assert.equal(c1.find('eth0')?.mac, '02:42:0a:44:00:02');
    const hostEnd = kernel.hostNs.find(ep.hostIfname);
    assert.ok(hostEnd !== undefined);
    assert.equal(hostEnd.masterIndex, kernel.hostNs.find('ct-net1')?.index);
    assert.equal(hostEnd.hairpin, true);
    assert.equal(hostEnd.up, true);
    assert.equal(hostEnd.peer?.ns, c1);
    // Every namespace fd and handle the connect opened is closed again.
    assert.equal(kernel.openFds, 0);
    assert.deepEqual(events.at(-1), { name: 'endpoint-connected', subject: 'c1 net1 10.68.0.2/24' });
    assert.deepEqual(ct.listEndpoints(), [ct.getEndpoint('net1', 'c1')]);
    const { routes: _routes, ...listed } = ep;
    assert.deepEqual(ct.getEndpoint('net1', 'c1'), listed);
  });

  test('a second container gets the next address, a second network eth1 and no second default route', async (t) => {
    const { ct, ns } = lab(t);
    await ct.createNetwork(NET);
    await ct.createNetwork({ name: 'net2', subnets: ['10.70.0.0/24'] });
    const c1 = ns('c1');
    ns('c2');
    await ct.connect('net1', 'c1');
    assert.deepEqual((await ct.connect('net1', 'c2')).addresses, ['10.68.0.3/24']);
    const second = await ct.connect('net2', 'c1');
    assert.deepEqual({ ifname: second.ifname, routes: second.routes }, { ifname: 'eth1', routes: [] });
    assert.deepEqual(snapshot(c1).routes.filter((r) => r.startsWith('default')), ['default via 10.68.0.1 dev eth0 table 254']);
  });

  test('a dual-stack network: one address per family, IPv6 forwarding after accept_ra 1 -> 2 on the host interfaces, not on its own', async (t) => {
    const { ct, kernel, sysctlChanges, ns } = lab(t);
    kernel.hostNs.addLink({ name: 'eth0', kind: undefined, mtu: 1500, mac: '02:00:00:00:00:01', up: true });
    await ct.createNetwork(DUAL);
    ns('c1');
    const ep = await ct.connect('dual', 'c1');
    assert.deepEqual(ep.addresses, ['10.69.0.2/24', 'fd00:69::2/64']);
    assert.deepEqual(ep.routes, [{ dst: '0.0.0.0/0', gateway: '10.69.0.1' }, { dst: '::/0', gateway: 'fd00:69::1' }]);
    const hostOwn = sysctlChanges.filter((c) => !c.ownLink).map((c) => `${c.key}=${c.value}`);
    assert.deepEqual(hostOwn, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.eth0.accept_ra=2', 'net.ipv6.conf.all.forwarding=1']);
    assert.equal(kernel.sysctls.read('net/ipv6/conf/ct-dual/accept_ra'), '1');
    const details = ct.inspectNetwork('dual');
    assert.deepEqual(details.endpoints.map((e) => e.addresses), [ep.addresses]);
    assert.deepEqual(
      details.sysctls.map((s) => `${s.key}=${s.value ?? '-'} want ${s.want}`),
      [
        'net.ipv4.ip_forward=1 want 1',
        'net.ipv6.conf.all.forwarding=1 want 1',
        'net.ipv4.conf.ct-dual.route_localnet=1 want 1',
        'net.ipv6.conf.ct-dual.accept_dad=0 want 0',
        'net.ipv6.conf.eth0.accept_ra=2 want 2',
      ],
    );
  });

  test('a ptp network: the gateway on the host end, a host route to the container, the container routes through the gateway', async (t) => {
    const { ct, kernel, ns } = lab(t);
    await ct.createNetwork({ name: 'p1', subnets: ['10.71.0.0/24'], driver: 'ptp' });
    const c1 = ns('c1');
    const ep = await ct.connect('p1', 'c1');
    assert.deepEqual(ep.addresses, ['10.71.0.2/32']);
    const host = snapshot(kernel.hostNs);
    assert.ok(host.addresses.includes(`10.71.0.1/32 dev ${ep.hostIfname}`), host.addresses.join('; '));
    assert.ok(host.routes.includes(`10.71.0.2/32 dev ${ep.hostIfname} table 254`), host.routes.join('; '));
    assert.deepEqual(snapshot(c1).routes.filter((r) => r.endsWith('table 254')), ['10.71.0.1/32 dev eth0 table 254', 'default via 10.71.0.1 dev eth0 table 254']);
  });

  test('disconnect() and removeNetwork() take down exactly what was made, and say so', async (t) => {
    const { ct, kernel, firewall, events, ns } = lab(t);
    const net = await ct.createNetwork(NET);
    const c1 = ns('c1');
    const before = snapshot(c1);
    const hostBefore = snapshot(kernel.hostNs);
    await ct.connect('net1', 'c1', { ports: ['8080:80'] });
    assert.equal(firewall.endpoints.size, 1);
    await ct.disconnect('net1', 'c1');
    assert.deepEqual(snapshot(kernel.hostNs), hostBefore);
    // The loopback stays up: other users of the namespace may rely on it by now.
    assert.deepEqual(snapshot(c1), { ...before, links: ['lo up'] });
    assert.equal(firewall.endpoints.size, 0);
    assert.deepEqual(ct.listEndpoints(), []);
    await ct.removeNetwork('net1');
    assert.equal(kernel.hostNs.find('ct-net1'), undefined);
    assert.equal(firewall.networks.has(net.id), false);
    assert.deepEqual(ct.listNetworks(), []);
    assert.deepEqual(events.map((e) => e.name), ['network-created', 'endpoint-connected', 'endpoint-disconnected', 'network-removed']);
  });

  test('published ports reach the firewall parsed, with the container address of their family', async (t) => {
    const { ct, firewall, kernel, ns } = lab(t);
    await ct.createNetwork(DUAL);
    ns('c1');
    kernel.host.addrAdd({ index: kernel.hostNs.find('lo')?.index ?? 0, ip: parseIp('::1'), prefix: 128 });
    const ep = await ct.connect('dual', 'c1', { ports: ['127.0.0.1:8080:80', '9090:90/udp'] });
    assert.deepEqual(ep.ports, [
      { family: 4, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 },
      { family: 4, protocol: 'udp', hostIp: null, hostPort: 9090, containerPort: 90 },
      { family: 6, protocol: 'udp', hostIp: null, hostPort: 9090, containerPort: 90 },
    ]);
    const mappings = firewall.endpoints.get(ep.id)?.ports ?? [];
    assert.deepEqual(
      mappings.map((m) => `${m.hostIp === undefined ? '*' : formatIp(m.hostIp)}:${m.hostPort}/${m.protocol} -> ${formatIp(m.containerIp)}:${m.containerPort}`),
      ['127.0.0.1:8080/tcp -> 10.69.0.2:80', '*:9090/udp -> 10.69.0.2:90', '*:9090/udp -> fd00:69::2:90'],
    );
    assert.deepEqual(await ct.checkEndpoint('dual', 'c1'), []);
    firewall.endpoints.clear();
    assert.deepEqual(await ct.checkEndpoint('dual', 'c1'), [`ports of endpoint ${ep.id} are missing`]);
  });

  test('deleteNetns() refuses a connected namespace, and with force disconnects it first', async (t) => {
    const { ct, kernel, ns } = lab(t);
    await ct.createNetwork(NET);
    ns('c1');
    await ct.connect('net1', 'c1');
    await assert.rejects(ct.deleteNetns('c1'), ConflictError);
    assert.notEqual(kernel.namespace('c1'), undefined);
    await ct.deleteNetns('c1', { force: true });
    assert.equal(kernel.namespace('c1'), undefined);
    assert.deepEqual(ct.listEndpoints(), []);
  });

  test('a network whose bridge was deleted is reported, and completed by the next connect', async (t) => {
    const { ct, kernel, ns } = lab(t);
    await ct.createNetwork(NET);
    const bridge = kernel.hostNs.find('ct-net1');
    if (bridge !== undefined) kernel.hostNs.removeLink(bridge.index);
    assert.deepEqual(await ct.checkNetwork('net1'), ['bridge ct-net1 is missing']);
    ns('c1');
    await ct.connect('net1', 'c1');
    assert.deepEqual(await ct.checkNetwork('net1'), []);
    assert.deepEqual(await ct.checkEndpoint('net1', 'c1'), []);
  });
});

describe('Ctnet on a fake kernel: rollback', () => {
  /** Whatever fails, the host, the container, the state and the firewall are as before, and the address is handed out again. */
  async function assertConnectRollsBack(t: TestContext, fail: (l: Lab) => void, message: RegExp): Promise<void> {
    const l = lab(t);
    await l.ct.createNetwork(NET);
    const c1 = l.ns('c1');
    const host = snapshot(l.kernel.hostNs);
    const container = snapshot(c1);
    const eventCount = l.events.length;
    fail(l);
    await assert.rejects(l.ct.connect('net1', 'c1', { ports: ['8080:80'] }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /^connect "c1" to network "net1": /);
      assert.match(err.message, message);
      assert.notEqual((err as { code?: string }).code, 'CTNET_TEARDOWN', `rollback failed: ${err.message}`);
      return true;
    });
    assert.deepEqual(snapshot(l.kernel.hostNs), host);
    assert.deepEqual(snapshot(c1), container);
    assert.deepEqual(l.ct.listEndpoints(), []);
    assert.equal(l.firewall.endpoints.size, 0);
    assert.equal(l.kernel.openFds, 0);
    assert.equal(l.events.length, eventCount, 'a failed change announces nothing');
    l.arm(undefined);
    assert.deepEqual((await l.ct.connect('net1', 'c1')).addresses, ['10.68.0.2/24']);
  }

  const kernelFailures: [verb: RtnlVerb, errno: string, where: string, message: RegExp][] = [
    ['linkAdd', 'EEXIST', 'host', /RTM_NEWLINK ct[0-9a-f]{12} failed: EEXIST/],
    ['linkSet', 'EPERM', 'host', /RTM_NEWLINK \d+ failed: EPERM/],
    ['bridgePortSet', 'EOPNOTSUPP', 'host', /RTM_SETLINK \d+ failed: EOPNOTSUPP/],
    ['linkSet', 'ENOBUFS', 'c1', /RTM_NEWLINK \d+ failed: ENOBUFS/],
    ['addrAdd', 'EADDRINUSE', 'c1', /RTM_NEWADDR 10\.68\.0\.2\/24 failed: EADDRINUSE/],
    ['routeAdd', 'ENETUNREACH', 'c1', /RTM_NEWROUTE default failed: ENETUNREACH/],
  ];
  for (const [verb, errno, where, message] of kernelFailures) {
    test(`connect() rolls back when ${verb} in ${where} fails with ${errno}`, async (t) => {
      await assertConnectRollsBack(t, (l) => { l.kernel.failNext(verb, errno, where); }, message);
    });
  }

  test('connect() rolls back when the firewall refuses the ports', async (t) => {
    await assertConnectRollsBack(t, (l) => { l.firewall.failNext = 'setupPorts'; }, /firewall setupPorts failed/);
  });

  test('connect() rolls back after each of its steps', async (t) => {
    const probe = lab(t);
    await probe.ct.createNetwork(NET);
    probe.ns('c1');
    probe.arm(undefined);
    await probe.ct.connect('net1', 'c1', { ports: ['8080:80'] });
    const steps = [...probe.steps];
    assert.deepEqual(steps, ['state', 'veth', 'address', 'route', 'ports']);
    for (const [k, step] of steps.entries()) {
      await t.test(`after "${step}"`, async (st) => {
        await assertConnectRollsBack(st, (l) => { l.arm(k); }, new RegExp(`injected at ${step}`));
      });
    }
  });

  test('createNetwork() rolls back after each of its steps and when the kernel or firewall fails', async (t) => {
    const probe = lab(t);
    await probe.ct.createNetwork(NET);
    const steps = [...probe.steps];
    assert.deepEqual(steps, ['state', 'bridge', 'gateway-address', 'forwarding', 'firewall']);
    const failures: [string, (l: Lab) => void, RegExp][] = [
      ...steps.map((step, k): [string, (l: Lab) => void, RegExp] => [`after "${step}"`, (l) => { l.arm(k); }, new RegExp(`injected at ${step}`)]),
      ['renaming the bridge fails', (l) => { l.kernel.failNext('linkSet', 'EBUSY', 'host'); }, /RTM_NEWLINK \d+ failed: EBUSY/],
      ['the gateway address fails', (l) => { l.kernel.failNext('addrAdd', 'EACCES', 'host'); }, /RTM_NEWADDR 10\.68\.0\.1\/24 failed: EACCES/],
      ['a sysctl write fails', (l) => { l.kernel.sysctls.failWrites.add('net/ipv4/ip_forward'); }, /set sysctl net\.ipv4\.ip_forward=1: permission denied/],
      ['the firewall fails', (l) => { l.firewall.failNext = 'setupNetwork'; }, /firewall setupNetwork failed/],
      ['the firewall fails part-way', (l) => { l.firewall.failPartway = true; }, /firewall setupNetwork failed part-way/],
    ];
    for (const [what, fail, message] of failures) {
      await t.test(what, async (st) => {
        const l = lab(st);
        const host = snapshot(l.kernel.hostNs);
        fail(l);
        await assert.rejects(l.ct.createNetwork(NET), (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.match(err.message, /^create network "net1": /);
          assert.match(err.message, message);
          return true;
        });
        assert.deepEqual(snapshot(l.kernel.hostNs), host);
        assert.deepEqual(l.ct.listNetworks(), []);
        assert.equal(l.firewall.networks.size, 0);
        assert.deepEqual(l.events, []);
        l.arm(undefined);
        assert.equal((await l.ct.createNetwork(NET)).status, 'ready');
      });
    }
  });

  test('a failed teardown keeps the record, and the next removeNetwork() finishes', async (t) => {
    const { ct, kernel, firewall, events } = lab(t);
    await ct.createNetwork(NET);
    firewall.failNext = 'teardownNetwork';
    await assert.rejects(ct.removeNetwork('net1'), /firewall teardownNetwork failed/);
    assert.equal(ct.listNetworks()[0]?.status, 'removing');
    await ct.removeNetwork('net1');
    assert.deepEqual(ct.listNetworks(), []);
    assert.equal(kernel.hostNs.find('ct-net1'), undefined);
    assert.deepEqual(events.map((e) => e.name), ['network-created', 'network-removed']);
  });
});

describe('Ctnet on a fake kernel: refusals', () => {
  test('IPAM exhaustion: the last address goes to one container, the next one gets IpamExhaustedError and nothing', async (t) => {
    const { ct, kernel, ns } = lab(t);
    await ct.createNetwork({ name: 'tiny', subnets: ['10.72.0.0/30'] });
    ns('c1');
    const c2 = ns('c2');
    assert.deepEqual((await ct.connect('tiny', 'c1')).addresses, ['10.72.0.2/30']);
    const host = snapshot(kernel.hostNs);
    await assert.rejects(ct.connect('tiny', 'c2'), (err: unknown) => {
      assert.ok(err instanceof IpamExhaustedError, String(err));
      assert.match(err.message, /no free address left in subnet "10\.72\.0\.0\/30"/);
      return true;
    });
    assert.deepEqual(snapshot(kernel.hostNs), host);
    assert.deepEqual(snapshot(c2).links, ['lo']);
    await ct.disconnect('tiny', 'c1');
    assert.deepEqual((await ct.connect('tiny', 'c2')).addresses, ['10.72.0.2/30']);
  });

  test('a subnet, bridge or name another network or the host has is refused before anything is made', async (t) => {
    const { ct, kernel } = lab(t);
    await ct.createNetwork(NET);
    const uplink = kernel.hostNs.addLink({ name: 'eth0', kind: undefined, mtu: 1500, mac: '02:00:00:00:00:01', up: true });
    kernel.host.addrAdd({ index: uplink.index, ip: parseIp('10.80.1.5'), prefix: 16 });
    kernel.hostNs.addLink({ name: 'br-taken', kind: 'bridge', mtu: 1500, mac: '02:00:00:00:00:02', up: true });
    const host = snapshot(kernel.hostNs);
    const refusals: [object, string][] = [
      [{ name: 'net1', subnets: ['10.90.0.0/24'] }, 'network "net1" already exists'],
      [{ name: 'other', subnets: ['10.68.0.128/25'] }, 'subnet "10.68.0.128/25" overlaps subnet "10.68.0.0/24" of network "net1"'],
      [{ name: 'other', subnets: ['10.80.0.0/24'] }, 'subnet "10.80.0.0/24" of network "other" overlaps the host route 10.80.0.0/16'],
      [{ name: 'other', subnets: ['10.90.0.0/24'], bridge: 'br-taken' }, 'bridge name "br-taken" is already used by an existing interface'],
      [{ name: 'other', subnets: ['10.90.0.0/24'], bridge: 'ct-net1' }, 'bridge "ct-net1" is already used by network "net1"'],
    ];
    for (const [spec, message] of refusals) {
      await assert.rejects(ct.createNetwork(spec as typeof NET), (err: unknown) => {
        assert.ok(err instanceof ConflictError, String(err));
        assert.equal(err.message, message);
        return true;
      });
    }
    assert.deepEqual(snapshot(kernel.hostNs), host);
    assert.deepEqual(ct.listNetworks().map((n) => n.name), ['net1']);
  });

  test('a second attachment, a taken interface name, the own namespace and unusable ports are refused', async (t) => {
    const { ct, kernel, ns } = lab(t);
    await ct.createNetwork(NET);
    const c1 = ns('c1');
    await ct.connect('net1', 'c1');
    ns('c2').addLink({ name: 'eth0', kind: 'dummy', mtu: 1500, mac: '02:00:00:00:00:03', up: false });
    kernel.sockets.push({ family: 4, protocol: 'tcp', ip: { family: 4, value: 0n }, port: 8080 });
    const host = snapshot(kernel.hostNs);
    const before = snapshot(c1);
    const refusals: [() => Promise<unknown>, new (...args: never[]) => Error, RegExp][] = [
      [() => ct.connect('net1', 'c1'), ConflictError, /: container "c1" is already connected to network "net1"$/],
      [() => ct.connect('net1', '/run/netns/c1'), ConflictError, /: container "\/run\/netns\/c1" is already connected to network "net1"$/],
      [() => ct.connect('net1', 'c2', { ifname: 'eth0' }), ConflictError, /interface "eth0" already exists in container "c2"/],
      [() => ct.connect('net1', 'pid:1'), InvalidConfigError, /container "pid:1" is the network namespace ctnet runs in/],
      [() => ct.connect('net1', 'c3'), Error, /container "c3" not found/],
      [() => ct.connect('net1', 'c2', { ports: ['8080:80'] }), ConflictError, /port 8080\/tcp on 0\.0\.0\.0 is already in use on the host by a listening socket/],
      [() => ct.connect('net1', 'c2', { ports: ['198.51.100.7:8081:80'] }), InvalidConfigError, /198\.51\.100\.7 is not an address of this host/],
      [() => ct.connect('net1', 'c2', { ips: ['10.68.0.2'] }), ConflictError, /address "10\.68\.0\.2" is already in use/],
      [() => ct.connect('net1', 'c2', { ips: ['fd00::2'] }), InvalidConfigError, /address "fd00::2" is not in any subnet of network "net1" \(10\.68\.0\.0\/24\)/],
    ];
    for (const [connect, cls, message] of refusals) {
      await assert.rejects(connect(), (err: unknown) => {
        assert.ok(err instanceof cls, `${cls.name}: ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(snapshot(kernel.hostNs), host);
    assert.deepEqual(snapshot(c1), before);
    assert.equal(ct.listEndpoints().length, 1);
    assert.equal(kernel.openFds, 0);
  });

  test('createNetwork() over links a lost database left behind is refused', async (t) => {
    const dir = tempDir(t);
    const kernel = new FakeKernel();
    const first = Ctnet.open({ stateDir: dir, kernel, firewall: new FakeFirewall() });
    await first.createNetwork(NET);
    first.close();
    rmSync(join(dir, 'ctnet.db'));
    const again = Ctnet.open({ stateDir: dir, kernel, firewall: new FakeFirewall() });
    t.after(() => { again.close(); });
    await assert.rejects(again.createNetwork({ name: 'net2', subnets: ['10.90.0.0/24'] }), (err: unknown) => {
      assert.ok(err instanceof StateError, String(err));
      assert.match(err.message, /holds no networks, but 1 interface\(s\) that ctnet made with this state directory exist: ct-net1;/);
      return true;
    });
  });
});

describe('Ctnet on a fake kernel: events and ownership', () => {
  test('a listener that throws fails nothing, and off() ends a subscription', async (t) => {
    const { ct, ns } = lab(t);
    const seen: string[] = [];
    const listener = (n: { name: string }): void => { seen.push(n.name); };
    ct.on('network-created', () => { throw new Error('listener bug'); });
    ct.on('network-created', listener);
    await ct.createNetwork(NET);
    ct.off('network-created', listener);
    await ct.createNetwork({ name: 'net2', subnets: ['10.70.0.0/24'] });
    assert.deepEqual(seen, ['net1']);
    ns('c1');
    assert.equal((await ct.connect('net2', 'c1')).network, 'net2');
  });

  test('a store and a kernel given to open() are used and stay the caller\'s', async (t) => {
    const dir = tempDir(t);
    const store = StateStore.open(dir);
    t.after(() => { store.close(); });
    const kernel = new FakeKernel();
    assert.throws(() => Ctnet.open({ store, stateDir: join(dir, 'other'), kernel }), InvalidConfigError);
    const ct = Ctnet.open({ store, kernel, firewall: new FakeFirewall() });
    await ct.createNetwork(NET);
    ct.close();
    assert.deepEqual(store.listNetworks().map((n) => n.name), ['net1']);
    assert.equal(kernel.closedHandles, 0);
    assert.throws(() => ct.listNetworks(), StateError);
  });

  test('a NetlinkError from the kernel keeps its errno through the engine', async (t) => {
    const { ct, kernel } = lab(t);
    kernel.failNext('linkAdd', 'ENOSPC');
    await assert.rejects(ct.createNetwork(NET), (err: unknown) => {
      const cause = err instanceof Error && err.cause instanceof NetlinkError ? err.cause : err;
      assert.ok(cause instanceof NetlinkError, String(err));
      assert.equal(cause.errnoName, 'ENOSPC');
      return true;
    });
  });
});
