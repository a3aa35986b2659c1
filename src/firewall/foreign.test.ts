/**
 * Foreign forward chains as netlink shows them (the recorded dumps of fixtures/dump-*.hex and
 * messages built like them), the nft commands that change them, and ForeignFirewall's reading,
 * planning and reporting, on a recording runner, netlink and legacy iptables. No root needed.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { IptablesError, NftError } from '../errors.js';
import { decodeChain, type NftChainInfo } from '../netlink/nftnl/chain.js';
import { NF_ACCEPT, NF_DROP, NF_INET_FORWARD, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 } from '../netlink/nftnl/constants.js';
import { decodeRule } from '../netlink/nftnl/rule.js';
import { chainPayload, dumpPayloads, rulePayload } from '../netlink/nftnl/test-fixtures.js';
import { parseCidr } from '../inet/cidr.js';
import type { FirewallNetwork } from './driver.js';
import { FakeLegacyIptables } from './fake-legacy.js';
import { ForeignFirewall } from './foreign.js';
import { describeHostChange, type HostChange } from './host-change.js';
import { allowChanges, revokeChanges } from './foreign-rules.js';
import { FakeNftNetlink } from './nft/fake-netlink.js';
import { FakeNftRunner } from './nft/fake-runner.js';
import { forwardChains, nftChangeCommands, nftForeignChain } from './nft/foreign-chains.js';

const NET: FirewallNetwork = { id: 'ab12', name: 'net1', mode: 'nat', subnets: [parseCidr('10.68.0.0/24')] };
const BRIDGE_FAMILY = 7; // NFPROTO_BRIDGE: its forward hook sees bridged frames, not routed packets

const FORWARD: NftChainInfo = { family: NFPROTO_IPV4, table: 'filter', chain: 'FORWARD' };

function foreignWith(netlink: FakeNftNetlink, legacy = new FakeLegacyIptables()) {
  const runner = new FakeNftRunner();
  const changes: HostChange[] = [];
  const foreign = new ForeignFirewall({ runner, netlink, legacy, onHostChange: (c) => changes.push(c) });
  return { runner, changes, foreign, legacy };
}

describe('foreign nftables chains', () => {
  test("forwardChains(): other tables' forward base chains of ip, ip6 and inet; ctnet's own table names the live networks", () => {
    const chains = [
      ...dumpPayloads('dump-chains.hex'),
      chainPayload(BRIDGE_FAMILY, 'filter', 'FORWARD', { hook: NF_INET_FORWARD, policy: NF_DROP }),
      chainPayload(NFPROTO_IPV6, 'filter', 'INPUT', { hook: 1, policy: NF_DROP }),
      chainPayload(NFPROTO_INET, 'ctnet', 'forward', { hook: NF_INET_FORWARD, policy: NF_ACCEPT }),
      chainPayload(NFPROTO_INET, 'ctnet', 'n-ef56-in'),
      chainPayload(NFPROTO_INET, 'ctnet', 'n-ef56-out'),
    ].map(decodeChain);
    const { foreign, live } = forwardChains(chains);
    assert.deepEqual(foreign.map((c) => `${c.family} ${c.table} ${c.chain} ${c.policy}`), [`${NFPROTO_IPV4} filter FORWARD ${NF_DROP}`, `${NFPROTO_INET} other filter_FORWARD ${NF_ACCEPT}`]);
    assert.deepEqual([...live], ['ef56']);
  });

  test('nftForeignChain(): names the chain, its families and policy, and keeps the rules with ctnet comments', () => {
    const info = decodeChain(dumpPayloads('dump-chains.hex')[0] ?? Buffer.alloc(0));
    const chain = nftForeignChain(info, dumpPayloads('dump-rules.hex').map(decodeRule));
    assert.deepEqual(chain, {
      firewall: 'nftables',
      name: 'ip filter FORWARD',
      families: [4],
      drops: true,
      owned: [{ owner: 'a1b2c3', handle: 3 }],
      family: 'ip',
      table: 'filter',
      chain: 'FORWARD',
    });
  });

  test('nftChangeCommands(): deletes by handle, then inserts at the top, last rule first', () => {
    const chain = nftForeignChain({ ...FORWARD, hook: NF_INET_FORWARD, policy: NF_DROP }, [decodeRule(rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 7, 'ctnet net ab12'))]);
    const where = { family: 'ip', table: 'filter', chain: 'FORWARD' } as const;
    const prefix = { prefix: { addr: '10.68.0.0', len: 24 } };
    assert.deepEqual(nftChangeCommands(NET.id, allowChanges(NET, [chain])), [
      { delete: { rule: { ...where, handle: 7 } } },
      { insert: { rule: { ...where, comment: 'ctnet net ab12', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: prefix } }, { accept: null }] } } },
      { insert: { rule: { ...where, comment: 'ctnet net ab12', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: prefix } }, { accept: null }] } } },
    ]);
    assert.deepEqual(nftChangeCommands(NET.id, revokeChanges(NET, [chain], new Set())), [{ delete: { rule: { ...where, handle: 7 } } }]);
  });
});

describe('ForeignFirewall', () => {
  const dropChain = chainPayload(NFPROTO_IPV4, 'filter', 'FORWARD', { hook: NF_INET_FORWARD, policy: NF_DROP });

  test('allow() inserts the set into a drop chain in one transaction and says so', async () => {
    const { runner, changes, foreign } = foreignWith(new FakeNftNetlink().answerDumps([dropChain], [[FORWARD, [rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 2)]]]));
    assert.equal((await foreign.missing(NET)).length, 1);
    await foreign.allow(NET);
    assert.equal(runner.batches.length, 1);
    assert.deepEqual(runner.batches[0]?.map((c) => Object.keys(c)[0]), ['insert', 'insert']);
    assert.deepEqual(changes, [
      { action: 'add', firewall: 'nftables', chain: 'ip filter FORWARD', rules: 2, why: 'it drops forwarded packets by default, which would cut network "net1" off' },
    ]);
  });

  test('allow() leaves a chain that holds the set alone; an accepting chain wants nothing', async () => {
    const own = [rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 5, 'ctnet net ab12'), rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 6, 'ctnet net ab12')];
    const covered = foreignWith(new FakeNftNetlink().answerDumps([dropChain], [[FORWARD, own]]));
    await covered.foreign.allow(NET);
    assert.deepEqual([covered.runner.batches, covered.changes], [[], []]);
    assert.deepEqual(await covered.foreign.missing(NET), []);
    const netlink = new FakeNftNetlink().answerDumps([chainPayload(NFPROTO_IPV4, 'filter', 'FORWARD', { hook: NF_INET_FORWARD, policy: NF_ACCEPT })]);
    const accepting = foreignWith(netlink);
    await accepting.foreign.allow(NET);
    assert.deepEqual(accepting.runner.batches, []);
    // An accepting chain's rules are not even read for allow(): the chain dump is all.
    assert.equal(netlink.dumps.length, 1);
  });

  test('allow() reads again when a rule went away in between (ENOENT), up to three times', async () => {
    const { runner, foreign } = foreignWith(new FakeNftNetlink().answerDumps([dropChain], [[FORWARD, [rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 5, 'ctnet net ab12')]]]));
    runner.failNextRun(new NftError('nft transaction failed', { stderr: '', errnoName: 'ENOENT' }));
    await foreign.allow(NET);
    assert.equal(runner.batches.length, 2);
    const eperm = foreignWith(new FakeNftNetlink().answerDumps([dropChain]));
    eperm.runner.failNextRun(new NftError('nft transaction failed', { stderr: '', errnoName: 'EPERM' }));
    await assert.rejects(eperm.foreign.allow(NET), { errnoName: 'EPERM' });
    assert.deepEqual(eperm.changes, []);
  });

  test("revoke() takes the network's rules and those of gone networks from every forward chain, whatever its policy", async () => {
    const accepting = chainPayload(NFPROTO_INET, 'other', 'fwd', { hook: NF_INET_FORWARD, policy: NF_ACCEPT });
    const other: NftChainInfo = { family: NFPROTO_INET, table: 'other', chain: 'fwd' };
    const netlink = new FakeNftNetlink().answerDumps(
      [dropChain, accepting, chainPayload(NFPROTO_INET, 'ctnet', 'n-ef56-in')],
      [
        [FORWARD, [rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 5, 'ctnet net ab12'), rulePayload(NFPROTO_IPV4, 'filter', 'FORWARD', 6, 'ctnet net ef56')]],
        [other, [rulePayload(NFPROTO_INET, 'other', 'fwd', 9, 'ctnet net 0dead'), rulePayload(NFPROTO_INET, 'other', 'fwd', 10, 'docker')]],
      ],
    );
    const { runner, changes, foreign } = foreignWith(netlink);
    await foreign.revoke(NET);
    assert.deepEqual(runner.batches, [
      [
        { delete: { rule: { family: 'ip', table: 'filter', chain: 'FORWARD', handle: 5 } } },
        { delete: { rule: { family: 'inet', table: 'other', chain: 'fwd', handle: 9 } } },
      ],
    ]);
    assert.deepEqual(changes.map((c) => `${c.action} ${c.chain} ${c.rules}: ${c.why}`), [
      'remove ip filter FORWARD 1: network "net1" is removed',
      'remove inet other fwd 1: network "net1" is removed, and 1 of them belonged to networks that are gone',
    ]);
  });

  test("legacy iptables: FORWARD DROP gets the set through one restore; its rules count in missing()", async () => {
    const legacy = new FakeLegacyIptables();
    legacy.inUse.set(4, ['filter']);
    legacy.saves.set(4, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n');
    const { runner, changes, foreign } = foreignWith(new FakeNftNetlink().answerDumps([]), legacy);
    assert.deepEqual(await foreign.missing(NET), ['chain filter FORWARD (iptables-legacy) drops forwarded packets by default and holds 0 of the 2 accept rules of network "net1"']);
    await foreign.allow(NET);
    assert.deepEqual(runner.batches, []);
    assert.equal(legacy.restores.length, 1);
    assert.equal(legacy.restores[0]?.family, 4);
    assert.match(legacy.restores[0]?.text ?? '', /^\*filter\n-I FORWARD 1 -d 10\.68\.0\.0\/24 .*\n-I FORWARD 1 -s 10\.68\.0\.0\/24 .*\nCOMMIT\n$/);
    assert.deepEqual(changes.map((c) => `${c.action} ${c.firewall} ${c.chain} ${c.rules}`), ['add iptables-legacy filter FORWARD 2']);
  });

  test('legacy iptables: a restore that fails is tried again on a fresh save, up to three times', async () => {
    const legacy = new FakeLegacyIptables();
    legacy.inUse.set(4, ['filter']);
    legacy.saves.set(4, '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n');
    legacy.restoreFailures.push(new IptablesError('iptables-legacy-restore failed: line 2 failed', { stderr: '' }));
    const { changes, foreign } = foreignWith(new FakeNftNetlink().answerDumps([]), legacy);
    await foreign.allow(NET);
    assert.equal(legacy.restores.length, 2);
    assert.equal(changes.length, 1, 'told once, when it was made');
    legacy.restoreFailures.push(...[1, 2, 3].map((n) => new IptablesError(`refused ${n}`, { stderr: '' })));
    await assert.rejects(foreign.allow(NET), { message: 'refused 3' });
    assert.equal(legacy.restores.length, 5);
  });

  test('legacy tables that cannot be read: no drop is assumed, and inspect() says why', async () => {
    const legacy = new FakeLegacyIptables();
    legacy.inUse.set(6, ['filter']);
    legacy.saves.set(6, new Error('ip6tables-legacy-save is not installed'));
    const { foreign } = foreignWith(new FakeNftNetlink().answerDumps([dropChain]), legacy);
    assert.equal((await foreign.missing(NET)).length, 1, 'the nftables drop chain still counts');
    const report = await foreign.inspect([NET, { ...NET, id: 'ef56', name: 'net2', subnets: [parseCidr('fd00::/64')] }]);
    assert.deepEqual(report.drops, [{ firewall: 'nftables', chain: 'ip filter FORWARD', uncovered: ['net1'] }]);
    assert.deepEqual(report.unreadable, ['the legacy iptables filter table (IPv6) is in use but cannot be read: ip6tables-legacy-save is not installed']);
  });
});

describe('describeHostChange()', () => {
  test('says what was added or removed where, and why', () => {
    assert.equal(
      describeHostChange({ action: 'add', firewall: 'nftables', chain: 'ip filter FORWARD', rules: 2, why: 'it drops forwarded packets by default' }),
      'added 2 accept rules to chain ip filter FORWARD (nftables): it drops forwarded packets by default',
    );
    assert.equal(
      describeHostChange({ action: 'remove', firewall: 'iptables-legacy', chain: 'filter FORWARD', rules: 1, why: 'network "n" is removed' }),
      'removed 1 accept rule from chain filter FORWARD (iptables-legacy): network "n" is removed',
    );
  });
});
