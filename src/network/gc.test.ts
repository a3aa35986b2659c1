/**
 * `gc` and half-made endpoints on the engine's fake kernel: changes stopped at every step, as a
 * live process that is still working and, after `kill()`, as one that was killed there; namespaces
 * that vanish; links and firewall objects that no record owns.
 */
import { strict as assert } from 'node:assert';
import { describe, test, type TestContext } from 'node:test';
import { TimeoutError } from '../errors.js';
import { type Lab, lab, NET, snapshot } from '../fake-engine.js';
import type { GcReport } from './gc.js';
import { LinkOwnership } from './ownership.js';

const CONNECT_STEPS = ['state', 'veth', 'address', 'route', 'ports'];
const PORTS = { ports: [{ hostPort: 8080, containerPort: 80 }] };

/** Kinds and subjects of a report, for comparisons. */
function summary(report: GcReport): { actions: string[]; inProgress: string[] } {
  const line = (a: { kind: string; subject: string; error?: string }): string => `${a.kind} ${a.subject}${a.error === undefined ? '' : ` FAILED ${a.error}`}`;
  return { actions: report.actions.map(line), inProgress: report.inProgress.map(line) };
}

/** Everything of the lab a gc could change: host and container namespaces, firewall, records. */
function footprint(l: Lab): string {
  const namespaces = ['c1', 'c2', 'c3'].flatMap((n) => {
    const ns = l.kernel.namespace(n);
    return ns === undefined ? [] : [snapshot(ns)];
  });
  return JSON.stringify({
    host: snapshot(l.kernel.hostNs),
    namespaces,
    firewall: [[...l.firewall.networks.keys()], [...l.firewall.endpoints.keys()]],
    networks: l.ct.listNetworks().map((n) => `${n.name} ${n.status}`),
    endpoints: l.ct.listEndpoints().map((e) => `${e.container} ${e.status} ${e.addresses.join(',')}`),
  });
}

async function labWithNetwork(t: TestContext, options: Parameters<typeof lab>[1] = {}): Promise<Lab> {
  const l = lab(t, options);
  await l.ct.createNetwork(NET);
  l.ns('c1');
  l.ns('c2');
  return l;
}

describe('half-made endpoints', () => {
  test('a connect stopped at each step is left alone while it runs, removed by gc once it is killed, and the container connects again', async (t) => {
    for (const step of CONNECT_STEPS) {
      await t.test(`stopped at "${step}"`, async (st) => {
        const l = await labWithNetwork(st);
        const before = footprint(l);
        const frozen = l.freezeAt(step);
        void l.ct.connect('net1', 'c1', PORTS);
        await frozen;
        assert.deepEqual(l.ct.listEndpoints().map((e) => e.status), ['creating']);
        const during = footprint(l);
        const live = await l.ct.gc();
        assert.deepEqual(summary(live), { actions: [], inProgress: ['remove-endpoint endpoint "c1" (eth0) on network "net1"'] });
        assert.equal(footprint(l), during, 'gc changed a connect in progress');

        l.kill();
        const dry = await l.ct.gc({ dryRun: true });
        assert.deepEqual(summary(dry), { actions: ['remove-endpoint endpoint "c1" (eth0) on network "net1"'], inProgress: [] });
        assert.equal(dry.dryRun, true);
        assert.equal(footprint(l), during, 'a dry run changed something');
        const done = await l.ct.gc();
        assert.deepEqual(summary(done), summary(dry));
        assert.equal(footprint(l), before, `what the connect stopped at "${step}" made is left`);
        assert.deepEqual(summary(await l.ct.gc()), { actions: [], inProgress: [] }, 'a second gc found more');

        const ep = await l.ct.connect('net1', 'c1', PORTS);
        // The round robin goes on from the address the killed connect had.
        assert.deepEqual([ep.status, ep.addresses], ['ready', ['10.68.0.3/24']]);
        assert.deepEqual([...l.firewall.endpoints.keys()], [ep.id]);
      });
    }
  });

  test('a connect of a container whose connect was killed at any step takes that down and connects it anew', async (t) => {
    for (const step of CONNECT_STEPS) {
      await t.test(`killed at "${step}"`, async (st) => {
        const l = await labWithNetwork(st);
        const frozen = l.freezeAt(step);
        void l.ct.connect('net1', 'c1', PORTS);
        await frozen;
        const half = l.ct.listEndpoints()[0];
        l.kill();
        const ep = await l.ct.connect('net1', 'c1', PORTS);
        assert.notEqual(ep.id, half?.id);
        assert.deepEqual(l.ct.listEndpoints().map((e) => `${e.container} ${e.status} ${e.addresses.join(',')}`), ['c1 ready 10.68.0.3/24']);
        const c1 = l.kernel.namespace('c1');
        assert.deepEqual(c1 === undefined ? [] : snapshot(c1).links, ['lo up', 'eth0 up']);
        assert.deepEqual(snapshot(l.kernel.hostNs).links.filter((n) => !n.startsWith('lo') && !n.startsWith('ct-net1')), [`${ep.hostIfname} up master ct-net1`]);
        assert.deepEqual([...l.firewall.endpoints.keys()], [ep.id]);
        // Never announced connected, so never announced disconnected.
        assert.deepEqual(l.events.filter((e) => e.name === 'endpoint-disconnected'), []);
      });
    }
  });

  test('a connect or disconnect of a container that another connect is still making waits for it', async (t) => {
    const l = await labWithNetwork(t, { lockTimeoutMs: 50 });
    const frozen = l.freezeAt('veth');
    void l.ct.connect('net1', 'c1');
    await frozen;
    await assert.rejects(l.ct.connect('net1', 'c1'), TimeoutError);
    await assert.rejects(l.ct.disconnect('net1', 'c1'), TimeoutError);
    assert.deepEqual(l.ct.listEndpoints().map((e) => e.status), ['creating']);
    l.kill();
    await l.ct.disconnect('net1', 'c1');
    assert.deepEqual(l.ct.listEndpoints(), []);
    assert.equal((await l.ct.connect('net1', 'c1')).status, 'ready');
  });

  test('a connect of a container whose recorded attachment lost its host end takes that down and connects anew', async (t) => {
    const l = await labWithNetwork(t);
    const first = await l.ct.connect('net1', 'c1', PORTS);
    await assert.rejects(l.ct.connect('net1', 'c1'), /already connected/);
    // Someone deleted the veth: the endpoint is dead, though its namespace lives.
    const hostEnd = l.kernel.hostNs.find(first.hostIfname);
    if (hostEnd !== undefined) l.kernel.hostNs.removeLink(hostEnd.index);
    const second = await l.ct.connect('net1', 'c1', PORTS);
    assert.deepEqual([...l.firewall.endpoints.keys()], [second.id]);
    // The namespace was deleted and one made under its name: another container, same name.
    l.kernel.destroyNamespace('c1');
    l.ns('c1');
    const third = await l.ct.connect('net1', 'c1', PORTS);
    assert.deepEqual(l.ct.listEndpoints().map((e) => `${e.id} ${e.status}`), [`${third.id} ready`]);
    assert.deepEqual(l.events.filter((e) => e.name === 'endpoint-disconnected').map((e) => e.subject), ['c1 net1', 'c1 net1']);
  });

  test('a disconnect that failed after marking the endpoint is finished by the next connect, which announces the old one gone', async (t) => {
    const l = await labWithNetwork(t);
    const first = await l.ct.connect('net1', 'c1', PORTS);
    l.firewall.failNext = 'teardownPorts';
    await assert.rejects(l.ct.disconnect('net1', 'c1'), /firewall teardownPorts failed/);
    assert.deepEqual(l.ct.listEndpoints().map((e) => e.status), ['removing']);
    const again = await l.ct.connect('net1', 'c1', PORTS);
    assert.notEqual(again.id, first.id);
    assert.deepEqual(l.events.filter((e) => e.name === 'endpoint-disconnected').map((e) => e.subject), ['c1 net1']);
    assert.deepEqual([...l.firewall.endpoints.keys()], [again.id]);
  });
});

describe('gc', () => {
  test('releases the endpoints whose namespace is gone, and only those', async (t) => {
    const l = await labWithNetwork(t);
    l.ns('c3');
    const c1 = await l.ct.connect('net1', 'c1', PORTS);
    await l.ct.connect('net1', 'c2');
    await l.ct.connect('net1', 'c3');
    l.kernel.destroyNamespace('c1');
    // c3's path goes, but something still holds its namespace: its veth is still there.
    l.kernel.netns.deleteNamed('c3');
    const report = await l.ct.gc();
    assert.deepEqual(summary(report), { actions: ['release-endpoint endpoint "c1" (eth0) on network "net1"'], inProgress: [] });
    assert.equal(report.actions[0]?.reason, 'its network namespace is gone');
    assert.deepEqual(l.ct.listEndpoints().map((e) => e.container), ['c2', 'c3']);
    assert.ok(!l.firewall.endpoints.has(c1.id), 'the published ports stayed');
    assert.deepEqual(l.events.filter((e) => e.name === 'endpoint-disconnected').map((e) => e.subject), ['c1 net1']);
    // A new namespace under an old name is another container: the one recorded is gone.
    l.kernel.destroyNamespace('c2');
    l.ns('c2');
    assert.deepEqual(summary(await l.ct.gc()).actions, ['release-endpoint endpoint "c2" (eth0) on network "net1"']);
    assert.equal((await l.ct.connect('net1', 'c2')).status, 'ready');
  });

  test('removes the host links and firewall objects that no record owns, and nothing else', async (t) => {
    const l = await labWithNetwork(t);
    const ep = await l.ct.connect('net1', 'c1', PORTS);
    const own = new LinkOwnership(l.dir);
    const host = l.kernel.hostNs;
    const link = (name: string, alias?: string): void => {
      host.addLink({ name, kind: 'veth', mtu: 1500, mac: undefined, up: true, ...(alias === undefined ? {} : { alias }) });
    };
    link('ct-lost', own.mark('0123456789abcdef'));
    link('ct0a0a0a0a0a0a');
    link('ct0b0b0b0b0b0b', new LinkOwnership('/var/lib/other').mark('0b0b0b0b0b0b0b0b'));
    link('uplink9', 'the uplink');
    link('eth9');
    await l.firewall.setupNetwork({ id: 'feed', name: 'gone', subnets: [], mode: 'nat' });
    await l.firewall.setupPorts({ id: 'beef', networkId: 'feed', ports: [] });
    const before = footprint(l);
    const expected = [
      'remove-link link ct-lost',
      'remove-link link ct0a0a0a0a0a0a',
      'remove-firewall firewall chains and elements of network feed',
      'remove-firewall published-port elements of endpoint beef',
    ];
    const dry = await l.ct.gc({ dryRun: true });
    assert.deepEqual(summary(dry), { actions: expected, inProgress: [] });
    assert.equal(footprint(l), before);
    assert.deepEqual(summary(await l.ct.gc()), { actions: expected, inProgress: [] });
    assert.deepEqual(host.linkNames(), ['lo', 'ct-net1', ep.hostIfname, 'ct0b0b0b0b0b0b', 'uplink9', 'eth9']);
    assert.deepEqual([[...l.firewall.networks.keys()], [...l.firewall.endpoints.keys()]], [[l.ct.listNetworks()[0]?.id], [ep.id]]);
  });

  test('completes a network left creating and finishes one left removing, but leaves one being made alone', async (t) => {
    const l = lab(t);
    const frozen = l.freezeAt('bridge');
    void l.ct.createNetwork(NET);
    await frozen;
    assert.deepEqual(summary(await l.ct.gc()), { actions: [], inProgress: ['complete-network network "net1"'] });
    l.kill();
    assert.deepEqual(summary(await l.ct.gc()), { actions: ['complete-network network "net1"'], inProgress: [] });
    assert.deepEqual(l.ct.listNetworks().map((n) => n.status), ['ready']);
    assert.deepEqual(await l.ct.checkNetwork('net1'), []);
    assert.deepEqual(l.events.map((e) => `${e.name} ${e.subject}`), ['network-created net1']);

    const removing = l.freezeAt('firewall-removed');
    void l.ct.removeNetwork('net1');
    await removing;
    l.kill();
    assert.deepEqual(summary(await l.ct.gc()), { actions: ['remove-network network "net1"'], inProgress: [] });
    assert.deepEqual(l.ct.listNetworks(), []);
    assert.deepEqual(l.kernel.hostNs.linkNames(), ['lo']);
    assert.deepEqual([...l.firewall.networks.keys()], []);
  });

  test('reports a step that fails with its error and does the others', async (t) => {
    const l = await labWithNetwork(t);
    await l.ct.connect('net1', 'c1', PORTS);
    await l.ct.connect('net1', 'c2');
    l.kernel.destroyNamespace('c1');
    l.kernel.destroyNamespace('c2');
    l.firewall.failNext = 'teardownPorts';
    const report = await l.ct.gc();
    assert.deepEqual(summary(report).actions, [
      'release-endpoint endpoint "c1" (eth0) on network "net1" FAILED disconnect "c1" from network "net1": firewall teardownPorts failed',
      'release-endpoint endpoint "c2" (eth0) on network "net1"',
    ]);
    // The failed one is left marked: the next gc finishes it.
    assert.deepEqual(l.ct.listEndpoints().map((e) => `${e.container} ${e.status}`), ['c1 removing']);
    assert.deepEqual(summary(await l.ct.gc()).actions, ['remove-endpoint endpoint "c1" (eth0) on network "net1"']);
    assert.deepEqual(l.ct.listEndpoints(), []);
  });
});
