/**
 * Published-port elements over nf_tables netlink, against the real kernel. Runs only as root inside
 * scripts/sandbox.sh. The oracle is nft's own listing (`nft -j list table inet ctnet`, and the text
 * listing for the comment), compared with what the `nft -j` path makes for the same endpoint; a
 * counting runner shows whether the driver ran nft.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { parseCidr } from '../../src/inet/cidr.js';
import { parseIp } from '../../src/inet/ip.js';
import { isAlreadyExists, NetlinkError } from '../../src/errors.js';
import type { FirewallEndpoint, FirewallNetwork, PortMapping } from '../../src/firewall/driver.js';
import { NftFirewallDriver } from '../../src/firewall/nft/nft-driver.js';
import { ExecNftRunner, type NftRunner } from '../../src/firewall/nft/runner.js';
import type { NftCommand } from '../../src/firewall/nft/schema.js';
import { dropCtnetTable, pubElements, sh } from '../helpers/sandbox.js';


const inSandbox = process.env['CTNET_SANDBOX'] === '1' && process.getuid?.() === 0;
const skip = inSandbox ? false : 'needs root inside scripts/sandbox.sh (CTNET_SANDBOX=1): it changes nftables';

const nft = (args: readonly string[]): Promise<string> => sh('nft', args);


/** The real runner, counting the transactions it applies. */
class CountingRunner implements NftRunner {
  readonly #inner = new ExecNftRunner();
  runs = 0;
  run(commands: NftCommand[]): Promise<void> {
    this.runs++;
    return this.#inner.run(commands);
  }
  list(args: string[]): Promise<unknown> {
    return this.#inner.list(args);
  }
}

const NET: FirewallNetwork = { id: 'b7', name: 'nlnet', mode: 'nat', subnets: [parseCidr('10.96.0.0/24'), parseCidr('fd00:96::/64')] };
const TCP: PortMapping = { family: 4, protocol: 'tcp', hostPort: 18080, containerIp: parseIp('10.96.0.2'), containerPort: 80 };
const UDP_IP: PortMapping = { family: 4, protocol: 'udp', hostIp: parseIp('198.51.100.2'), hostPort: 18053, containerIp: parseIp('10.96.0.2'), containerPort: 5353 };
const V6: PortMapping = { family: 6, protocol: 'tcp', hostPort: 18080, containerIp: parseIp('fd00:96::2'), containerPort: 80 };
const V6_IP: PortMapping = { family: 6, protocol: 'udp', hostIp: parseIp('2001:db8::2'), hostPort: 18443, containerIp: parseIp('fd00:96::2'), containerPort: 443 };
const EP: FirewallEndpoint = { id: 'e9a1', networkId: NET.id, ports: [TCP, UDP_IP, V6, V6_IP] };

describe('published ports over nf_tables netlink (real kernel)', { skip }, () => {
  const runner = new CountingRunner();
  const fw = new NftFirewallDriver(runner);
  const viaNft = new NftFirewallDriver(new ExecNftRunner(), { netlink: null });

  before(async () => {
    await dropCtnetTable();
    await fw.setupNetwork(NET);
  });

  after(async () => {
    fw.close();
    await dropCtnetTable();
  });

  test('setupPorts() adds, without nft, exactly the elements and comments the nft path adds', async () => {
    runner.runs = 0;
    await viaNft.setupPorts(EP);
    const expected = await pubElements();
    assert.equal(expected.length, 8);
    await viaNft.teardownPorts(EP);
    assert.deepEqual(await pubElements(), []);

    await fw.setupPorts(EP);
    assert.equal(runner.runs, 0, 'nft was run');
    assert.deepEqual(await pubElements(), expected);
    assert.deepEqual(expected, [
      'pub4_any_addr tcp . 18080 -> 10.96.0.2 (ctnet ep e9a1)',
      'pub4_any_port tcp . 18080 -> 80 (ctnet ep e9a1)',
      'pub4_ip_addr 198.51.100.2 . udp . 18053 -> 10.96.0.2 (ctnet ep e9a1)',
      'pub4_ip_port 198.51.100.2 . udp . 18053 -> 5353 (ctnet ep e9a1)',
      'pub6_any_addr tcp . 18080 -> fd00:96::2 (ctnet ep e9a1)',
      'pub6_any_port tcp . 18080 -> 80 (ctnet ep e9a1)',
      'pub6_ip_addr 2001:db8::2 . udp . 18443 -> fd00:96::2 (ctnet ep e9a1)',
      'pub6_ip_port 2001:db8::2 . udp . 18443 -> 443 (ctnet ep e9a1)',
    ]);
    // nft's text listing prints the comment too, so the element is indistinguishable from nft's own.
    assert.match(await nft(['list', 'map', 'inet', 'ctnet', 'pub4_any_port']), /tcp \. 18080 comment "ctnet ep e9a1" : 80/);
  });

  test('setupPorts() again changes nothing; another target for a published key fails with EEXIST and adds nothing', async () => {
    const before = await pubElements();
    await fw.setupPorts(EP);
    assert.deepEqual(await pubElements(), before);
    const clash: FirewallEndpoint = {
      id: 'e9b2',
      networkId: NET.id,
      ports: [{ ...TCP, hostPort: 18070 }, { ...TCP, containerIp: parseIp('10.96.0.3') }],
    };
    await assert.rejects(fw.setupPorts(clash), (err: unknown) => {
      assert.ok(err instanceof NetlinkError, String(err));
      assert.ok(isAlreadyExists(err));
      assert.equal(err.message, 'publish ports of endpoint "e9b2": NFT_MSG_NEWSETELEM pub4_any_addr tcp . 18080 failed: EEXIST (File exists)');
      return true;
    });
    assert.deepEqual(await pubElements(), before);
    assert.equal(runner.runs, 0);
  });

  test('teardownPorts() removes them without nft; twice is fine (nft only reads)', async () => {
    await fw.teardownPorts(EP);
    assert.deepEqual(await pubElements(), []);
    assert.equal(runner.runs, 0);
    await fw.teardownPorts(EP);
    assert.deepEqual(await pubElements(), []);
    assert.equal(runner.runs, 0);
  });

  test('teardownPorts() after someone removed one of its elements removes the rest by comment', async () => {
    await fw.setupPorts(EP);
    await nft(['delete', 'element', 'inet', 'ctnet', 'pub6_any_port', '{ tcp . 18080 }']);
    await fw.teardownPorts(EP);
    assert.deepEqual(await pubElements(), []);
    assert.equal(runner.runs, 1);
    runner.runs = 0;
  });

  test('1000 mappings go in one netlink batch', async () => {
    const ports: PortMapping[] = [];
    for (let hostPort = 20000; hostPort < 21000; hostPort++) ports.push({ ...TCP, hostPort }, { ...V6_IP, hostPort });
    const big: FirewallEndpoint = { id: 'eb1c', networkId: NET.id, ports };
    await fw.setupPorts(big);
    assert.equal(runner.runs, 0);
    const mine = await pubElements();
    for (const map of ['pub4_any_addr', 'pub4_any_port', 'pub6_ip_addr', 'pub6_ip_port']) {
      assert.equal(mine.filter((e) => e.startsWith(`${map} `) && e.endsWith('(ctnet ep eb1c)')).length, 1000, map);
    }
    await fw.teardownPorts(big);
    assert.deepEqual(await pubElements(), []);
    assert.equal(runner.runs, 0);
  });

  test('close() and use again: a new socket is opened', async () => {
    fw.close();
    await fw.setupPorts(EP);
    assert.equal((await pubElements()).length, 8);
    fw.close();
    await fw.teardownPorts(EP);
    assert.deepEqual(await pubElements(), []);
    assert.equal(runner.runs, 0);
  });

  test('without the table, setupPorts() falls back to nft, which makes it; teardown then works over netlink', async () => {
    await dropCtnetTable();
    await fw.setupPorts(EP);
    assert.equal(runner.runs, 1);
    assert.equal((await pubElements()).length, 8);
    await fw.teardownPorts(EP);
    assert.equal(runner.runs, 1);
    assert.deepEqual(await pubElements(), []);
    await dropCtnetTable();
    await fw.teardownPorts(EP); // no table: the listing finds nothing
    assert.equal(runner.runs, 1);
  });
});
