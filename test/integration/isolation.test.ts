/**
 * Networks are isolated from each other (as Docker and netavark do): a container on one ctnet
 * network does not reach a container on another through the host, while both still reach their
 * own gateway and the internet. Checked with ping and TCP across real veths and bridges.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Ctnet } from '../../src/index.js';
import {
  ctnetLinks,
  hasCtnetTable,
  hostFootprint,
  newNetns,
  ping,
  routes,
  sandboxSkipReason,
  tcpProbe,
  tcpRequest,
  tcpServer,
  tempStateDir,
  withUplink,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

describe('isolation between networks', { skip }, () => {
  test('two NAT bridge networks do not reach each other, but each reaches its gateway and the internet', async (t) => {
    const ct = Ctnet.open({ stateDir: tempStateDir(t) });
    t.after(() => { ct.close(); });
    const ca = await newNetns(t);
    const cb = await newNetns(t);
    const { world, serverIp, uplinkIp } = await withUplink(t);
    await tcpServer(t, world, serverIp, 7101);
    const before = await hostFootprint();

    await ct.createNetwork({ name: 'isoa', subnets: ['10.71.1.0/24'] });
    await ct.createNetwork({ name: 'isob', subnets: ['10.71.2.0/24'] });
    const ea = await ct.connect('isoa', ca);
    const eb = await ct.connect('isob', cb);
    assert.deepEqual([ea.addresses, eb.addresses], [['10.71.1.2/24'], ['10.71.2.2/24']]);
    await tcpServer(t, ca, '10.71.1.2', 7102);
    await tcpServer(t, cb, '10.71.2.2', 7103);

    // The host routes both subnets and forwards: only the isolation rules stand in the way.
    const hostRoutes = (await routes()).map((r) => r.dst);
    assert.ok(hostRoutes.includes('10.71.1.0/24') && hostRoutes.includes('10.71.2.0/24'), 'the host routes both subnets');

    assert.ok(await ping(ca, '10.71.1.1'), 'A reaches its gateway');
    assert.ok(await ping(cb, '10.71.2.1'), 'B reaches its gateway');
    assert.equal(await ping(ca, '10.71.2.2'), false, 'A cannot ping B');
    assert.equal(await ping(cb, '10.71.1.2'), false, 'B cannot ping A');
    assert.equal(await tcpProbe(ca, '10.71.2.2', 7103), undefined, 'A cannot connect to B');
    assert.equal(await tcpProbe(cb, '10.71.1.2', 7102), undefined, 'B cannot connect to A');
    // The host itself still reaches both (it is not another network).
    assert.deepEqual(await tcpRequest(undefined, '10.71.1.2', 7102, 'host'), { from: '10.71.1.1', got: 'host' });
    assert.deepEqual(await tcpRequest(undefined, '10.71.2.2', 7103, 'host'), { from: '10.71.2.1', got: 'host' });

    assert.deepEqual(await tcpRequest(ca, serverIp, 7101, 'a'), { from: uplinkIp, got: 'a' }, 'A reaches the internet');
    assert.deepEqual(await tcpRequest(cb, serverIp, 7101, 'b'), { from: uplinkIp, got: 'b' }, 'B reaches the internet');

    await ct.disconnect('isoa', ca);
    await ct.disconnect('isob', cb);
    await ct.removeNetwork('isoa');
    await ct.removeNetwork('isob');
    assert.deepEqual(await ctnetLinks(), [], 'no ctnet link is left');
    assert.equal(await hasCtnetTable(), false, 'no inet ctnet table is left');
    assert.deepEqual(await hostFootprint(), before, 'links, addresses, routes and rules as before');
  });
});
