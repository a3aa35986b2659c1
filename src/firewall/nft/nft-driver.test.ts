import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { NftError } from '../../errors.js';
import { FakeNftRunner } from './fake-runner.js';
import { buildNetworkTeardown } from './network-rules.js';
import { NftFirewallDriver } from './nft-driver.js';
import { buildPortsCleanup, buildPortsSetup, buildPortsTeardown } from './port-rules.js';
import { readTableState } from './table-state.js';
import {
  DUAL_STACK,
  GOLDEN_DUAL_STACK,
  INTERNAL,
  LISTING_NAT_AND_INTERNAL,
  LISTING_NAT_AND_PORTS,
  NAT,
  TCP_ANY,
  UDP_ONE_IP,
  endpoint,
  lines,
} from './test-fixtures.js';

const ENOENT = new NftError('nft list table inet ctnet failed: Error: No such file or directory', {
  stderr: 'Error: No such file or directory\n',
  errnoName: 'ENOENT',
});

describe('NftFirewallDriver', () => {
  test('setupNetwork() runs the whole setup as one batch and reads nothing', async () => {
    const runner = new FakeNftRunner();
    const driver = new NftFirewallDriver(runner);
    assert.equal(driver.name, 'nftables');
    await driver.setupNetwork(DUAL_STACK);
    assert.equal(runner.batches.length, 1);
    assert.deepEqual(lines(runner.batches[0] ?? []), GOLDEN_DUAL_STACK);
    assert.deepEqual(runner.listCalls, []);
  });

  test('setupNetwork() names the network when nft fails and keeps the errno', async () => {
    const runner = new FakeNftRunner();
    runner.failNextRun(
      new NftError('nft transaction failed: Error: interval overlaps with an existing one', { stderr: '', errnoName: 'EEXIST' }),
    );
    await assert.rejects(new NftFirewallDriver(runner).setupNetwork(NAT), (err: unknown) => {
      assert.ok(err instanceof NftError);
      assert.equal(err.errnoName, 'EEXIST');
      assert.match(err.message, /^set up firewall for network "natnet": nft transaction failed: /);
      return true;
    });
  });

  test('teardownNetwork() lists the table, then runs one batch', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_INTERNAL;
    await new NftFirewallDriver(runner).teardownNetwork(INTERNAL);
    assert.deepEqual(runner.listCalls, [['table', 'inet', 'ctnet']]);
    assert.equal(runner.batches.length, 1);
    assert.deepEqual(runner.batches[0], buildNetworkTeardown(INTERNAL, readTableState(LISTING_NAT_AND_INTERNAL)));
  });

  test('teardownNetwork() without a ctnet table succeeds and runs nothing', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = ENOENT;
    await new NftFirewallDriver(runner).teardownNetwork(NAT);
    assert.equal(runner.batches.length, 0);
  });

  test('teardownNetwork() reads again when something vanished between list and run', async () => {
    const runner = new FakeNftRunner();
    runner.queueList(LISTING_NAT_AND_INTERNAL, ENOENT);
    runner.failNextRun(new NftError('nft transaction failed: Error: element does not exist', { stderr: '', errnoName: 'ENOENT' }));
    await new NftFirewallDriver(runner).teardownNetwork(NAT);
    assert.equal(runner.listCalls.length, 2);
    assert.equal(runner.batches.length, 1);
  });

  test('teardownNetwork() gives up after three attempts and names the network', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_INTERNAL;
    for (let i = 0; i < 3; i++) {
      runner.failNextRun(new NftError('nft transaction failed: x', { stderr: '', errnoName: 'ENOENT' }));
    }
    await assert.rejects(new NftFirewallDriver(runner).teardownNetwork(NAT), {
      message: 'tear down firewall for network "natnet": nft transaction failed: x',
    });
    assert.equal(runner.batches.length, 3);
  });

  test('teardownNetwork() does not retry other errors', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_INTERNAL;
    runner.failNextRun(new NftError('nft transaction failed: busy', { stderr: '', errnoName: 'EBUSY' }));
    await assert.rejects(new NftFirewallDriver(runner).teardownNetwork(NAT), { errnoName: 'EBUSY' });
    assert.equal(runner.batches.length, 1);
  });
});

describe('NftFirewallDriver published ports', () => {
  const ep = endpoint(TCP_ANY, UDP_ONE_IP);
  const gone = (): NftError =>
    new NftError('nft transaction failed: Error: Could not process rule: No such file or directory', { stderr: '', errnoName: 'ENOENT' });

  test('setupPorts() runs the whole setup as one batch and reads nothing', async () => {
    const runner = new FakeNftRunner();
    await new NftFirewallDriver(runner).setupPorts(ep);
    assert.equal(runner.batches.length, 1);
    assert.deepEqual(runner.batches[0], buildPortsSetup(ep));
    assert.deepEqual(runner.listCalls, []);
  });

  test('setupPorts() without ports runs nothing', async () => {
    const runner = new FakeNftRunner();
    await new NftFirewallDriver(runner).setupPorts(endpoint());
    assert.equal(runner.batches.length, 0);
  });

  test('setupPorts() rejects bad input before running anything', async () => {
    const runner = new FakeNftRunner();
    await assert.rejects(new NftFirewallDriver(runner).setupPorts(endpoint({ ...TCP_ANY, hostPort: 0 })), TypeError);
    assert.equal(runner.batches.length, 0);
  });

  test('setupPorts() names the endpoint when nft fails and keeps the errno', async () => {
    const runner = new FakeNftRunner();
    runner.failNextRun(new NftError('nft transaction failed: Error: Could not process rule: File exists', { stderr: '', errnoName: 'EEXIST' }));
    await assert.rejects(new NftFirewallDriver(runner).setupPorts(ep), (err: unknown) => {
      assert.ok(err instanceof NftError);
      assert.equal(err.errnoName, 'EEXIST');
      assert.match(err.message, /^publish ports of endpoint "e1e2": nft transaction failed: /);
      return true;
    });
  });

  test('teardownPorts() deletes the keys in one batch and reads nothing', async () => {
    const runner = new FakeNftRunner();
    await new NftFirewallDriver(runner).teardownPorts(ep);
    assert.deepEqual(runner.batches, [buildPortsTeardown(ep)]);
    assert.deepEqual(runner.listCalls, []);
  });

  test('teardownPorts() without ports runs nothing', async () => {
    const runner = new FakeNftRunner();
    await new NftFirewallDriver(runner).teardownPorts(endpoint());
    assert.equal(runner.batches.length, 0);
  });

  test('teardownPorts() falls back to the elements with its comment when a key is gone', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_PORTS;
    runner.failNextRun(gone());
    await new NftFirewallDriver(runner).teardownPorts(endpoint(TCP_ANY));
    assert.deepEqual(runner.listCalls, [['table', 'inet', 'ctnet']]);
    assert.equal(runner.batches.length, 2);
    assert.deepEqual(runner.batches[1], buildPortsCleanup(endpoint(), readTableState(LISTING_NAT_AND_PORTS)));
  });

  test('teardownPorts() is done when the fallback finds no table or nothing of the endpoint', async () => {
    for (const listing of [ENOENT, { nftables: [] }]) {
      const runner = new FakeNftRunner();
      runner.listResult = listing;
      runner.failNextRun(gone());
      await new NftFirewallDriver(runner).teardownPorts(ep);
      assert.equal(runner.batches.length, 1);
      assert.equal(runner.listCalls.length, 1);
    }
  });

  test('teardownPorts() gives up after three fallback attempts and names the endpoint', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_PORTS;
    for (let i = 0; i < 4; i++) runner.failNextRun(gone());
    await assert.rejects(new NftFirewallDriver(runner).teardownPorts(ep), {
      message: /^unpublish ports of endpoint "e1e2": nft transaction failed: /,
    });
    assert.equal(runner.batches.length, 4);
    assert.equal(runner.listCalls.length, 3);
  });

  test('teardownPorts() does not fall back on other errors', async () => {
    const runner = new FakeNftRunner();
    runner.failNextRun(new NftError('nft transaction failed: busy', { stderr: '', errnoName: 'EBUSY' }));
    await assert.rejects(new NftFirewallDriver(runner).teardownPorts(ep), { errnoName: 'EBUSY' });
    assert.equal(runner.batches.length, 1);
    assert.deepEqual(runner.listCalls, []);
  });
});
