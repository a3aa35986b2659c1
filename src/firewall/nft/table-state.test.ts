import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { NftError } from '../../errors.js';
import { readTableState } from './table-state.js';
import { LISTING_NAT_AND_INTERNAL, LISTING_NAT_AND_PORTS } from './test-fixtures.js';

describe('readTableState()', () => {
  test('reads chains, sets, rule owners and elements with their keys, owners and verdict targets', () => {
    const state = readTableState(LISTING_NAT_AND_INTERNAL);
    assert.deepEqual(state.sets, ['fwd_in4', 'fwd_out4', 'nat4', 'fwd_in6', 'fwd_out6', 'nat6', 'subnets4', 'subnets6']);
    assert.deepEqual(state.rules, [{ chain: 'n-0718293a-out', comment: 'ctnet net 0718293a' }]);
    assert.deepEqual(state.chains, [
      'forward',
      'postrouting',
      'n-a1b2c3-in',
      'n-a1b2c3-out',
      'n-a1b2c3-nat',
      'n-0718293a-in',
      'n-0718293a-out',
    ]);
    assert.equal(state.elements.length, 7);
    assert.deepEqual(state.elements[0], {
      set: 'fwd_in4',
      key: { prefix: { addr: '10.99.1.0', len: 24 } },
      comment: 'ctnet net a1b2c3',
      target: 'n-a1b2c3-in',
    });
    assert.deepEqual(state.elements[5], {
      set: 'subnets4',
      key: { prefix: { addr: '10.99.1.0', len: 24 } },
      comment: 'ctnet net a1b2c3',
    });
  });

  test('accepts bare keys (elements without a comment), ranges and rules without a comment', () => {
    const state = readTableState({
      nftables: [
        { map: { family: 'inet', table: 'ctnet', name: 'fwd_in4', elem: [['10.99.9.9', { goto: { target: 'n-ff-in' } }]] } },
        { set: { family: 'inet', table: 'ctnet', name: 'subnets4', elem: [{ range: ['10.99.9.1', '10.99.9.5'] }] } },
        { rule: { family: 'inet', table: 'ctnet', chain: 'forward', handle: 9, expr: [{ accept: null }] } },
      ],
    });
    assert.deepEqual(state.elements, [
      { set: 'fwd_in4', key: '10.99.9.9', target: 'n-ff-in' },
      { set: 'subnets4', key: { range: ['10.99.9.1', '10.99.9.5'] } },
    ]);
    assert.deepEqual(state.rules, [{ chain: 'forward' }]);
  });

  test('ignores objects of other tables', () => {
    const state = readTableState({
      nftables: [{ chain: { family: 'ip', table: 'filter', name: 'FORWARD' } }, { chain: { family: 'inet', table: 'ctnet', name: 'x' } }],
    });
    assert.deepEqual(state.chains, ['x']);
  });

  test('rejects a document that is not a listing', () => {
    assert.throws(() => readTableState({ tables: [] }), NftError);
    assert.throws(() => readTableState({ nftables: [{ set: { family: 'inet', table: 'ctnet', name: 's', elem: 3 } }] }), NftError);
    assert.throws(() => readTableState({ nftables: [{ rule: { family: 'inet', table: 'ctnet', handle: 4 } }] }), NftError);
  });
});

describe('published ports in the table state', () => {
  const state = readTableState(LISTING_NAT_AND_PORTS);

  test('readTableState() reads concatenated keys, their owners and data values (no verdicts)', () => {
    assert.deepEqual(
      state.elements.filter((e) => e.set.startsWith('pub')),
      [
        { set: 'pub4_ip_addr', key: { concat: ['192.0.2.10', 'udp', 5353] }, comment: 'ctnet ep e1e2', value: '10.99.1.2' },
        { set: 'pub4_ip_port', key: { concat: ['192.0.2.10', 'udp', 5353] }, comment: 'ctnet ep e1e2', value: 53 },
        { set: 'pub4_any_addr', key: { concat: ['tcp', 9090] }, comment: 'ctnet ep f3f4', value: '10.99.1.3' },
        { set: 'pub4_any_addr', key: { concat: ['tcp', 8080] }, comment: 'ctnet ep e1e2', value: '10.99.1.2' },
        { set: 'pub4_any_port', key: { concat: ['tcp', 9090] }, comment: 'ctnet ep f3f4', value: 90 },
        { set: 'pub4_any_port', key: { concat: ['tcp', 8080] }, comment: 'ctnet ep e1e2', value: 80 },
      ],
    );
    assert.deepEqual(state.chains.slice(0, 4), ['forward', 'postrouting', 'prerouting', 'output']);
  });
});
