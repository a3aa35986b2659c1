/** Which networks and endpoints a deletion in `inet ctnet` concerns, from the change's names and comments. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { NFPROTO_INET, NFPROTO_IPV4 } from '../../netlink/nftnl/constants.js';
import type { NftEvent } from '../../netlink/nftnl/events.js';
import { firewallLoss } from './changes.js';

const at = { op: 'del', family: NFPROTO_INET, table: 'ctnet' } as const;
const none = { all: false, networks: [], endpoints: [] };

test('the table, a set or a base chain: every network', () => {
  for (const change of [{ ...at, object: 'table' }, { ...at, object: 'set', set: 'subnets4' }, { ...at, object: 'chain', chain: 'forward' }] as NftEvent[]) {
    assert.deepEqual(firewallLoss(change), { ...none, all: true });
  }
});

test("a network's chain, or a rule in it: that network", () => {
  assert.deepEqual(firewallLoss({ ...at, object: 'chain', chain: 'n-a1b2c3-out' }), { ...none, networks: ['a1b2c3'] });
  assert.deepEqual(firewallLoss({ ...at, object: 'rule', chain: 'n-a1b2c3-in', comment: 'ctnet net a1b2c3' }), { ...none, networks: ['a1b2c3'] });
});

test('a base rule: its owner comment decides, the shared ones concern every network', () => {
  assert.deepEqual(firewallLoss({ ...at, object: 'rule', chain: 'forward', comment: 'ctnet base' }), { ...none, all: true });
  assert.deepEqual(firewallLoss({ ...at, object: 'rule', chain: 'postrouting', comment: 'ctnet net d4e5' }), { ...none, networks: ['d4e5'] });
});

test('elements: by comment, endpoints for published ports, networks for dispatch; none: every network', () => {
  assert.deepEqual(
    firewallLoss({ ...at, object: 'element', set: 'pub4_any_port', comments: ['ctnet ep e1e2', 'ctnet net a1b2c3', undefined] }),
    { all: true, networks: ['a1b2c3'], endpoints: ['e1e2'] },
  );
});

test('additions, other tables and families: nothing', () => {
  assert.equal(firewallLoss({ ...at, op: 'new', object: 'table' }), undefined);
  assert.equal(firewallLoss({ ...at, table: 'filter', object: 'table' }), undefined);
  assert.equal(firewallLoss({ ...at, family: NFPROTO_IPV4, object: 'table' }), undefined);
});
