/**
 * The nftables driver with a ForeignFirewall: each network verb also keeps the network's accept
 * rules in other tables' forward drop chains. Recording runner and netlink, no root.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { NftError } from '../../errors.js';
import { NF_DROP, NF_INET_FORWARD, NFPROTO_IPV4 } from '../../netlink/nftnl/constants.js';
import { chainPayload, rulePayload } from '../../netlink/nftnl/test-fixtures.js';
import { ForeignFirewall } from '../foreign.js';
import { FakeLegacyIptables } from '../fake-legacy.js';
import { FakeNftNetlink } from './fake-netlink.js';
import { FakeNftRunner } from './fake-runner.js';
import { NftFirewallDriver } from './nft-driver.js';
import { NAT } from './test-fixtures.js';

const FORWARD = { family: NFPROTO_IPV4, table: 'filter', chain: 'FORWARD' };
const DROP = chainPayload(NFPROTO_IPV4, 'filter', 'FORWARD', { hook: NF_INET_FORWARD, policy: NF_DROP });

/** A driver whose foreign part sees ip filter FORWARD at policy drop, holding `rules`. */
function driverWith(rules: Buffer[] = []) {
  const runner = new FakeNftRunner();
  const netlink = new FakeNftNetlink().answerDumps([DROP], [[FORWARD, rules]]);
  const foreign = new ForeignFirewall({ runner, netlink, legacy: new FakeLegacyIptables() });
  return { runner, netlink, driver: new NftFirewallDriver(runner, { netlink: new FakeNftNetlink(), foreign }) };
}

const kinds = (runner: FakeNftRunner): string[][] => runner.batches.map((b) => b.map((c) => Object.keys(c)[0] ?? ''));

describe('NftFirewallDriver with a ForeignFirewall', () => {
  test('setupNetwork(): its table, then its accept rules in the drop chain', async () => {
    const { runner, driver } = driverWith();
    await driver.setupNetwork(NAT);
    assert.equal(runner.batches.length, 2);
    assert.deepEqual(kinds(runner)[1], ['insert', 'insert']);
  });

  test("setupNetwork(): when the accept rules fail, it says so and leaves the network's own rules to the caller", async () => {
    const { runner, driver } = driverWith();
    runner.passNextRun();
    runner.failNextRun(new NftError('nft transaction failed: Operation not permitted', { stderr: '', errnoName: 'EPERM' }));
    await assert.rejects(driver.setupNetwork(NAT), (err: unknown) => {
      assert.ok(err instanceof NftError);
      assert.match(err.message, /^set up firewall for network "natnet": nft transaction failed/);
      return true;
    });
    // The table's setup and the refused inserts, nothing else: a mended network keeps its table,
    // and the engine undoes a create with teardownNetwork.
    assert.deepEqual(kinds(runner).slice(1), [['insert', 'insert']]);
  });

  test('networkPresent() is false while the drop chain lacks the rules; checkNetwork() names it', async () => {
    const missing = driverWith();
    assert.equal(await missing.driver.networkPresent(NAT), false);
    missing.runner.listResult = { nftables: [] };
    assert.ok((await missing.driver.checkNetwork(NAT)).includes('chain ip filter FORWARD (nftables) drops forwarded packets by default and holds 0 of the 2 accept rules of network "natnet"'));
    const own = [rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 4, 'ctnet net a1b2c3'), rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 5, 'ctnet net a1b2c3')];
    assert.equal(await driverWith(own).driver.networkPresent(NAT), true);
  });

  test("teardownNetwork(): its table's part, then its rules in foreign chains", async () => {
    const { runner, driver } = driverWith([rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 4, 'ctnet net a1b2c3')]);
    await driver.teardownNetwork(NAT);
    assert.deepEqual(runner.batches.at(-1), [{ delete: { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 4 } } }]);
  });
});
