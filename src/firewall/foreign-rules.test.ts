/** Which accept rules ctnet wants in foreign forward chains, and the changes that get them there. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { parseCidr } from '../inet/cidr.js';
import type { FirewallNetwork } from './driver.js';
import { acceptRules, allowChanges, type ForeignChain, missingRules, ownerOf, revokeChanges, wantedIn } from './foreign-rules.js';

const NAT: FirewallNetwork = { id: 'ab12', name: 'net1', mode: 'nat', subnets: [parseCidr('10.68.0.0/24'), parseCidr('fd68::/64')] };
const INTERNAL: FirewallNetwork = { id: 'cd34', name: 'iso', mode: 'internal', subnets: [parseCidr('10.69.0.0/24')] };

function chain(families: (4 | 6)[], drops: boolean, owners: string[] = []): ForeignChain {
  return { firewall: 'nftables', name: 'ip filter FORWARD', families, drops, owned: owners.map((owner) => ({ owner })) };
}

describe('accept rules for foreign drop chains', () => {
  test('a NAT or routed network: its subnets out and in, each subnet on its own', () => {
    const rules = acceptRules(NAT).map((r) => [`${r.subnet.addr}/${r.subnet.len}`, r.src, r.dst]);
    assert.deepEqual(rules, [
      ['10.68.0.0/24', true, false],
      ['10.68.0.0/24', false, true],
      ['fd68::/64', true, false],
      ['fd68::/64', false, true],
    ]);
    assert.deepEqual(acceptRules({ ...NAT, mode: 'routed' }).length, 4);
  });

  test('an internal network: only what stays inside its subnet', () => {
    assert.deepEqual(acceptRules(INTERNAL).map((r) => [`${r.subnet.addr}/${r.subnet.len}`, r.src, r.dst]), [['10.69.0.0/24', true, true]]);
  });

  test('bad input is refused before anything is built', () => {
    assert.throws(() => acceptRules({ ...NAT, id: 'X' }), TypeError);
    assert.throws(() => acceptRules({ ...NAT, subnets: [{ ...parseCidr('10.68.0.0/24'), prefix: 33 }] }), TypeError);
  });

  test('ownerOf() reads the network id of an owner comment, nothing else', () => {
    assert.equal(ownerOf('ctnet net ab12'), 'ab12');
    assert.equal(ownerOf('ctnet ep ab12'), undefined);
    assert.equal(ownerOf('docker x'), undefined);
    assert.equal(ownerOf(undefined), undefined);
  });

  test('a chain wants rules only when it drops, and only of the families it matches', () => {
    const rules = acceptRules(NAT);
    assert.equal(wantedIn(chain([4], true), rules).length, 2);
    assert.equal(wantedIn(chain([6], true), rules).length, 2);
    assert.equal(wantedIn(chain([4, 6], true), rules).length, 4);
    assert.equal(wantedIn(chain([4, 6], false), rules).length, 0);
  });

  test('missingRules() names each drop chain that holds another number of the rules', () => {
    assert.deepEqual(missingRules(NAT, [chain([4], true), chain([4], false)]), [
      'chain ip filter FORWARD (nftables) drops forwarded packets by default and holds 0 of the 2 accept rules of network "net1"',
    ]);
    assert.deepEqual(missingRules(NAT, [chain([4], true, ['ab12', 'ab12', 'ef56'])]), []);
    assert.equal(missingRules(NAT, [chain([4], true, ['ab12'])]).length, 1);
  });

  test('allowChanges(): a chain with part of the set gets the whole set anew; a complete one is left alone', () => {
    const partial = chain([4], true, ['ab12', 'ef56']);
    const [change] = allowChanges(NAT, [partial, chain([4], true, ['ab12', 'ab12']), chain([4], false)]);
    assert.deepEqual(change?.remove, [{ owner: 'ab12' }]);
    assert.equal(change?.add.length, 2);
    assert.equal(allowChanges(NAT, [chain([4], true, ['ab12', 'ab12'])]).length, 0);
  });

  test("revokeChanges(): the network's rules and those of networks that are gone, whatever the policy", () => {
    const c = chain([4], false, ['ab12', 'ef56', '0000']);
    const [change] = revokeChanges(NAT, [c], new Set(['ef56']));
    assert.deepEqual(change?.remove, [{ owner: 'ab12' }, { owner: '0000' }]);
    assert.deepEqual(change?.add, []);
    assert.deepEqual(revokeChanges(NAT, [chain([4], true, ['ef56'])], new Set(['ef56'])), []);
  });
});
