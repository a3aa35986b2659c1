import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { NetlinkError, NftError, SystemError, TeardownError, TimeoutError } from '../../errors.js';
import { getChainMessage } from '../../netlink/nftnl/chain.js';
import { NFPROTO_INET } from '../../netlink/nftnl/constants.js';
import type { PortMapping } from '../driver.js';
import { FakeNftNetlink, wire } from './fake-netlink.js';
import { FakeNftRunner } from './fake-runner.js';
import { buildNetworkTeardown, buildOwnersTeardown } from './network-rules.js';
import { NftFirewallDriver } from './nft-driver.js';
import { portsSetupMessages, portsTeardownMessages } from './port-elements.js';
import { buildPortsCleanup, buildPortsSetup, buildPortsTeardown } from './port-rules.js';
import { readTableState } from './table-state.js';
import {
  DUAL_STACK,
  GOLDEN_DUAL_STACK,
  INTERNAL,
  LISTING_NAT_AND_INTERNAL,
  LISTING_NAT_AND_PORTS,
  LISTING_NAT_COMPLETE,
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

  test('listOwners() lists the table once and names its owners; no table: nobody', async () => {
    const runner = new FakeNftRunner();
    runner.queueList(LISTING_NAT_AND_PORTS, ENOENT);
    const driver = new NftFirewallDriver(runner);
    assert.deepEqual(await driver.listOwners(), { networks: ['a1b2c3'], endpoints: ['e1e2', 'f3f4'] });
    assert.deepEqual(await driver.listOwners(), { networks: [], endpoints: [] });
    assert.deepEqual(runner.batches, []);
  });

  test('removeOwners() lists the table, then runs one batch; nobody to remove runs nothing', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_PORTS;
    const driver = new NftFirewallDriver(runner);
    const owners = { networks: [], endpoints: ['e1e2'] };
    await driver.removeOwners(owners);
    assert.deepEqual(runner.batches, [buildOwnersTeardown(owners, readTableState(LISTING_NAT_AND_PORTS))]);
    await driver.removeOwners({ networks: [], endpoints: [] });
    assert.equal(runner.listCalls.length, 1);
  });

  test('teardownNetwork() does not retry other errors', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_INTERNAL;
    runner.failNextRun(new NftError('nft transaction failed: busy', { stderr: '', errnoName: 'EBUSY' }));
    await assert.rejects(new NftFirewallDriver(runner).teardownNetwork(NAT), { errnoName: 'EBUSY' });
    assert.equal(runner.batches.length, 1);
  });
});

describe('NftFirewallDriver published ports over netlink', () => {
  const ep = endpoint(TCP_ANY, UDP_ONE_IP);
  const setup = (): { runner: FakeNftRunner; netlink: FakeNftNetlink; driver: NftFirewallDriver } => {
    const runner = new FakeNftRunner();
    const netlink = new FakeNftNetlink();
    return { runner, netlink, driver: new NftFirewallDriver(runner, { netlink }) };
  };
  // The kernel's answer by errno: 2 ENOENT, 16 EBUSY, 17 EEXIST.
  const kernel = (errno: number): NetlinkError => new NetlinkError({ op: 'NFT_MSG_NEWSETELEM', object: 'pub4_any_addr tcp . 8080', errno });
  const socketFailure = (): SystemError => new SystemError('send NFT_MSG_NEWSETELEM: sendto failed: Message too long', { errnoName: 'EMSGSIZE' });

  test('setupPorts() sends the elements as one netlink batch; no nft run, nothing read', async () => {
    const { runner, netlink, driver } = setup();
    await driver.setupPorts(ep);
    assert.deepEqual(netlink.batches, [wire(portsSetupMessages(ep))]);
    assert.equal(runner.batches.length, 0);
    assert.deepEqual(runner.listCalls, []);
  });

  test('setupPorts() without ports or with bad input sends nothing', async () => {
    const { runner, netlink, driver } = setup();
    await driver.setupPorts(endpoint());
    await assert.rejects(driver.setupPorts(endpoint({ ...TCP_ANY, hostPort: 0 })), TypeError);
    await assert.rejects(driver.setupPorts(endpoint(TCP_ANY, { ...TCP_ANY, containerPort: 81 })), TypeError);
    assert.equal(netlink.batches.length + runner.batches.length, 0);
  });

  test('setupPorts() runs the nft batch, which makes the table and maps, when netlink finds them missing', async () => {
    const { runner, netlink, driver } = setup();
    netlink.failNextApply(kernel(2));
    await driver.setupPorts(ep);
    assert.equal(netlink.batches.length, 1);
    assert.deepEqual(runner.batches, [buildPortsSetup(ep)]);
  });

  test('setupPorts() runs the nft batch when the socket cannot be used', async () => {
    const { runner, netlink, driver } = setup();
    netlink.failNextApply(socketFailure());
    await driver.setupPorts(ep);
    assert.deepEqual(runner.batches, [buildPortsSetup(ep)]);
  });

  test('setupPorts() reports a refusal by the kernel (EEXIST) or no answer, naming the endpoint, without nft', async () => {
    for (const failure of [kernel(17), new TimeoutError('no answer')]) {
      const { runner, netlink, driver } = setup();
      netlink.failNextApply(failure);
      await assert.rejects(driver.setupPorts(ep), (err: unknown) => {
        assert.equal((err as Error).cause, failure);
        assert.match(String(err), /publish ports of endpoint "e1e2": /);
        return true;
      });
      assert.equal(runner.batches.length, 0);
    }
    const { netlink, driver } = setup();
    netlink.failNextApply(kernel(17));
    await assert.rejects(driver.setupPorts(ep), {
      message: 'publish ports of endpoint "e1e2": NFT_MSG_NEWSETELEM pub4_any_addr tcp . 8080 failed: EEXIST (File exists)',
      errnoName: 'EEXIST',
    });
  });

  // 6000 ports: 12000 elements, some 780 KiB to add and 240 KiB to delete; a 150 KiB limit takes
  // several batches for either (the fake refuses a batch over its limit, as the kernel does with
  // EMSGSIZE).
  const many = endpoint(...Array.from({ length: 6000 }, (_, i): PortMapping => ({ ...TCP_ANY, hostPort: 10001 + i, containerPort: 10001 + i })));
  const small = (): { runner: FakeNftRunner; netlink: FakeNftNetlink; driver: NftFirewallDriver } => {
    const runner = new FakeNftRunner();
    const netlink = new FakeNftNetlink({ maxBatchBytes: 150 * 1024 });
    return { runner, netlink, driver: new NftFirewallDriver(runner, { netlink }) };
  };

  test('setupPorts() sends what does not fit one datagram as consecutive batches within the limit', async () => {
    const { runner, netlink, driver } = small();
    await driver.setupPorts(many);
    assert.ok(netlink.batches.length > 1, `${netlink.batches.length} batches`);
    assert.deepEqual(netlink.batches.flat(), wire(portsSetupMessages(many)));
    assert.equal(runner.batches.length, 0);
  });

  test('setupPorts() takes back the batches applied before one the kernel refuses, and reports it', async () => {
    const { runner, netlink, driver } = small();
    netlink.passNextApply();
    netlink.failNextApply(kernel(17));
    await assert.rejects(driver.setupPorts(many), { errnoName: 'EEXIST', message: /^publish ports of endpoint "e1e2": NFT_MSG_NEWSETELEM / });
    const [first, refused, ...undo] = netlink.batches;
    assert.deepEqual([first, refused].flat(), wire(portsSetupMessages(many)).slice(0, (first?.length ?? 0) + (refused?.length ?? 0)));
    // The undo deletes every key of the endpoint, as a teardown does.
    assert.deepEqual(undo.flat(), wire(portsTeardownMessages(many)));
    assert.equal(runner.batches.length, 0);
  });

  test('setupPorts() whose later batch finds the maps gone takes back the first and publishes all through nft', async () => {
    const { runner, netlink, driver } = small();
    netlink.passNextApply();
    netlink.failNextApply(kernel(2));
    await driver.setupPorts(many);
    assert.deepEqual(netlink.batches.slice(2).flat(), wire(portsTeardownMessages(many)));
    assert.deepEqual(runner.batches, [buildPortsSetup(many)]);
  });

  test('setupPorts() whose undo fails too reports both', async () => {
    const { netlink, driver } = small();
    netlink.passNextApply();
    netlink.failNextApply(kernel(17));
    netlink.failNextApply(kernel(16));
    await assert.rejects(driver.setupPorts(many), (err: unknown) => {
      assert.ok(err instanceof TeardownError, String(err));
      assert.match(err.message, /^publish ports of endpoint "e1e2": .*EEXIST.* \(and removing the ports published so far failed: unpublish ports of endpoint "e1e2": .*EBUSY/);
      assert.equal(err.errors.length, 2);
      return true;
    });
  });

  test('teardownPorts() deletes many keys as consecutive batches within the limit', async () => {
    const { runner, netlink, driver } = small();
    await driver.teardownPorts(many);
    assert.ok(netlink.batches.length > 1, `${netlink.batches.length} batches`);
    assert.deepEqual(netlink.batches.flat(), wire(portsTeardownMessages(many)));
    assert.equal(runner.batches.length, 0);
  });

  test('teardownPorts() deletes the keys in one netlink batch; no nft run, nothing read', async () => {
    const { runner, netlink, driver } = setup();
    await driver.teardownPorts(ep);
    assert.deepEqual(netlink.batches, [wire(portsTeardownMessages(ep))]);
    assert.equal(runner.batches.length, 0);
    assert.deepEqual(runner.listCalls, []);
  });

  test('teardownPorts() on ENOENT deletes what still carries its comment, through nft', async () => {
    const { runner, netlink, driver } = setup();
    runner.listResult = LISTING_NAT_AND_PORTS;
    netlink.failNextApply(kernel(2));
    await driver.teardownPorts(endpoint(TCP_ANY));
    assert.deepEqual(runner.listCalls, [['table', 'inet', 'ctnet']]);
    assert.deepEqual(runner.batches, [buildPortsCleanup(endpoint(), readTableState(LISTING_NAT_AND_PORTS))]);
  });

  test('teardownPorts() on ENOENT with nothing left is done', async () => {
    const { runner, netlink, driver } = setup();
    runner.listResult = ENOENT;
    netlink.failNextApply(kernel(2));
    await driver.teardownPorts(ep);
    assert.equal(runner.batches.length, 0);
    assert.equal(runner.listCalls.length, 1);
  });

  test('teardownPorts() deletes the keys through nft when the socket cannot be used', async () => {
    const { runner, netlink, driver } = setup();
    netlink.failNextApply(socketFailure());
    await driver.teardownPorts(ep);
    assert.deepEqual(runner.batches, [buildPortsTeardown(ep)]);
    assert.deepEqual(runner.listCalls, []);
  });

  test('teardownPorts() reports other refusals without nft', async () => {
    const { runner, netlink, driver } = setup();
    netlink.failNextApply(kernel(16));
    await assert.rejects(driver.teardownPorts(ep), { errnoName: 'EBUSY', message: /^unpublish ports of endpoint "e1e2": / });
    assert.equal(runner.batches.length, 0);
  });

  test('close() closes the netlink side; network changes never use it', async () => {
    const { runner, netlink, driver } = setup();
    await driver.setupNetwork(NAT);
    assert.equal(netlink.batches.length, 0);
    assert.equal(runner.batches.length, 1);
    driver.close();
    assert.equal(netlink.closed, 1);
  });
});

describe('NftFirewallDriver published ports through nft (netlink: null)', () => {
  const ep = endpoint(TCP_ANY, UDP_ONE_IP);
  const gone = (): NftError =>
    new NftError('nft transaction failed: Error: Could not process rule: No such file or directory', { stderr: '', errnoName: 'ENOENT' });
  const driverFor = (runner: FakeNftRunner): NftFirewallDriver => new NftFirewallDriver(runner, { netlink: null });

  test('setupPorts() runs the whole setup as one batch and reads nothing', async () => {
    const runner = new FakeNftRunner();
    await driverFor(runner).setupPorts(ep);
    assert.equal(runner.batches.length, 1);
    assert.deepEqual(runner.batches[0], buildPortsSetup(ep));
    assert.deepEqual(runner.listCalls, []);
  });

  test('setupPorts() without ports runs nothing', async () => {
    const runner = new FakeNftRunner();
    await driverFor(runner).setupPorts(endpoint());
    assert.equal(runner.batches.length, 0);
  });

  test('setupPorts() rejects bad input before running anything', async () => {
    const runner = new FakeNftRunner();
    await assert.rejects(driverFor(runner).setupPorts(endpoint({ ...TCP_ANY, hostPort: 0 })), TypeError);
    assert.equal(runner.batches.length, 0);
  });

  test('setupPorts() names the endpoint when nft fails and keeps the errno', async () => {
    const runner = new FakeNftRunner();
    runner.failNextRun(new NftError('nft transaction failed: Error: Could not process rule: File exists', { stderr: '', errnoName: 'EEXIST' }));
    await assert.rejects(driverFor(runner).setupPorts(ep), (err: unknown) => {
      assert.ok(err instanceof NftError);
      assert.equal(err.errnoName, 'EEXIST');
      assert.match(err.message, /^publish ports of endpoint "e1e2": nft transaction failed: /);
      return true;
    });
  });

  test('teardownPorts() deletes the keys in one batch and reads nothing', async () => {
    const runner = new FakeNftRunner();
    await driverFor(runner).teardownPorts(ep);
    assert.deepEqual(runner.batches, [buildPortsTeardown(ep)]);
    assert.deepEqual(runner.listCalls, []);
  });

  test('teardownPorts() without ports runs nothing', async () => {
    const runner = new FakeNftRunner();
    await driverFor(runner).teardownPorts(endpoint());
    assert.equal(runner.batches.length, 0);
  });

  test('teardownPorts() falls back to the elements with its comment when a key is gone', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_PORTS;
    runner.failNextRun(gone());
    await driverFor(runner).teardownPorts(endpoint(TCP_ANY));
    assert.deepEqual(runner.listCalls, [['table', 'inet', 'ctnet']]);
    assert.equal(runner.batches.length, 2);
    assert.deepEqual(runner.batches[1], buildPortsCleanup(endpoint(), readTableState(LISTING_NAT_AND_PORTS)));
  });

  test('teardownPorts() is done when the fallback finds no table or nothing of the endpoint', async () => {
    for (const listing of [ENOENT, { nftables: [] }]) {
      const runner = new FakeNftRunner();
      runner.listResult = listing;
      runner.failNextRun(gone());
      await driverFor(runner).teardownPorts(ep);
      assert.equal(runner.batches.length, 1);
      assert.equal(runner.listCalls.length, 1);
    }
  });

  test('teardownPorts() gives up after three fallback attempts and names the endpoint', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_AND_PORTS;
    for (let i = 0; i < 4; i++) runner.failNextRun(gone());
    await assert.rejects(driverFor(runner).teardownPorts(ep), {
      message: /^unpublish ports of endpoint "e1e2": nft transaction failed: /,
    });
    assert.equal(runner.batches.length, 4);
    assert.equal(runner.listCalls.length, 3);
  });

  test('teardownPorts() does not fall back on other errors', async () => {
    const runner = new FakeNftRunner();
    runner.failNextRun(new NftError('nft transaction failed: busy', { stderr: '', errnoName: 'EBUSY' }));
    await assert.rejects(driverFor(runner).teardownPorts(ep), { errnoName: 'EBUSY' });
    assert.equal(runner.batches.length, 1);
    assert.deepEqual(runner.listCalls, []);
  });
});

/** The complete NAT listing without chain `name` and its rules. */
function withoutChain(name: string): unknown {
  return {
    nftables: LISTING_NAT_COMPLETE.nftables.filter((i) => !('chain' in i && i.chain.name === name) && !('rule' in i && i.rule['chain'] === name)),
  };
}

describe('NftFirewallDriver checks', () => {
  const ep = endpoint(TCP_ANY, UDP_ONE_IP);

  test('checkNetwork() lists the table once and finds nothing missing after a setup', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = LISTING_NAT_COMPLETE;
    assert.deepEqual(await new NftFirewallDriver(runner).checkNetwork(NAT), []);
    assert.deepEqual(runner.listCalls, [['table', 'inet', 'ctnet']]);
    assert.equal(runner.batches.length, 0);
  });

  test('checkNetwork() names what is missing; no table is one line', async () => {
    const runner = new FakeNftRunner();
    runner.queueList(withoutChain('n-a1b2c3-out'), ENOENT);
    const driver = new NftFirewallDriver(runner);
    assert.deepEqual(await driver.checkNetwork(NAT), ['chain "n-a1b2c3-out" is missing from table inet ctnet']);
    assert.deepEqual(await driver.checkNetwork(NAT), ['table inet ctnet is missing']);
  });

  test('checkNetwork() rejects bad input before listing, and names the network when listing fails', async () => {
    const runner = new FakeNftRunner();
    await assert.rejects(new NftFirewallDriver(runner).checkNetwork({ ...NAT, id: 'X' }), TypeError);
    assert.deepEqual(runner.listCalls, []);
    runner.listResult = new NftError('nft list table inet ctnet failed: Error: Operation not permitted', { stderr: '', errnoName: 'EPERM' });
    await assert.rejects(new NftFirewallDriver(runner).checkNetwork(NAT), {
      errnoName: 'EPERM',
      message: 'check firewall of network "natnet": nft list table inet ctnet failed: Error: Operation not permitted',
    });
  });

  test('checkPorts() names a missing element of a pair; no ports lists nothing', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = {
      nftables: LISTING_NAT_COMPLETE.nftables.map((i) => ('map' in i && i.map.name === 'pub4_any_addr' ? { map: { ...i.map, elem: [] } } : i)),
    };
    const driver = new NftFirewallDriver(runner);
    assert.deepEqual(await driver.checkPorts(ep), ['element tcp . 8080 : 10.99.1.2 is missing from map "pub4_any_addr"']);
    assert.deepEqual(await driver.checkPorts(endpoint()), []);
    assert.equal(runner.listCalls.length, 1);
    runner.listResult = ENOENT;
    assert.deepEqual(await driver.checkPorts(ep), ['table inet ctnet is missing']);
  });

  test('checkPorts() names the endpoint when listing fails', async () => {
    const runner = new FakeNftRunner();
    runner.listResult = new NftError('nft list table inet ctnet failed: x', { stderr: '' });
    await assert.rejects(new NftFirewallDriver(runner).checkPorts(ep), { message: 'check published ports of endpoint "e1e2": nft list table inet ctnet failed: x' });
  });
});

describe('NftFirewallDriver.networkPresent()', () => {
  const probe = wire([getChainMessage({ family: NFPROTO_INET, table: 'ctnet', chain: 'n-a1b2c3-in' })]);
  const setup = (): { runner: FakeNftRunner; netlink: FakeNftNetlink; driver: NftFirewallDriver } => {
    const runner = new FakeNftRunner();
    const netlink = new FakeNftNetlink();
    return { runner, netlink, driver: new NftFirewallDriver(runner, { netlink }) };
  };
  const kernel = (errno: number): NetlinkError => new NetlinkError({ op: 'NFT_MSG_GETCHAIN', object: 'ctnet n-a1b2c3-in', errno });

  test('asks netlink for the in-chain, nothing else: present', async () => {
    const { runner, netlink, driver } = setup();
    assert.equal(await driver.networkPresent(NAT), true);
    assert.deepEqual(netlink.requests, probe);
    assert.equal(netlink.batches.length, 0);
    assert.deepEqual(runner.listCalls, []);
  });

  test('ENOENT (no such chain or table) is absent, without nft', async () => {
    const { runner, netlink, driver } = setup();
    netlink.failNextRequest(kernel(2));
    assert.equal(await driver.networkPresent(NAT), false);
    assert.deepEqual(runner.listCalls, []);
  });

  test('lists the table through nft when the socket cannot be used, or netlink is off', async () => {
    const { runner, netlink, driver } = setup();
    runner.queueList(LISTING_NAT_COMPLETE, withoutChain('n-a1b2c3-in'), ENOENT);
    netlink.failNextRequest(new SystemError('open netlink socket: EPROTONOSUPPORT', { errnoName: 'EPROTONOSUPPORT' }));
    assert.equal(await driver.networkPresent(NAT), true);
    const viaNft = new NftFirewallDriver(runner, { netlink: null });
    assert.equal(await viaNft.networkPresent(NAT), false);
    assert.equal(await viaNft.networkPresent(NAT), false);
    assert.equal(runner.listCalls.length, 3);
  });

  test('another refusal by the kernel, or no answer, fails naming the network', async () => {
    for (const failure of [kernel(1), new TimeoutError('NFT_MSG_GETCHAIN ctnet n-a1b2c3-in: no answer from the kernel within 10000 ms')]) {
      const { runner, netlink, driver } = setup();
      netlink.failNextRequest(failure);
      await assert.rejects(driver.networkPresent(NAT), (err: unknown) => {
        assert.equal((err as Error).cause, failure);
        assert.match(String(err), /probe firewall of network "natnet": NFT_MSG_GETCHAIN ctnet n-a1b2c3-in/);
        return true;
      });
      assert.deepEqual(runner.listCalls, []);
    }
  });

  test('rejects an id that is not hex before asking', async () => {
    const { netlink, driver } = setup();
    await assert.rejects(driver.networkPresent({ ...NAT, id: 'n1' }), TypeError);
    assert.equal(netlink.requests.length, 0);
  });
});
