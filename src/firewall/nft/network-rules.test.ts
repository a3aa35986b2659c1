import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { parseCidr } from '../../inet/cidr.js';
import { buildNetworkSetup, buildNetworkTeardown, buildOwnersTeardown, networkChains, ownerComment, tableOwners } from './network-rules.js';
import { readTableState, type CtnetTableState } from './table-state.js';
import {
  DUAL_STACK,
  GOLDEN_DUAL_STACK,
  HEAD,
  INTERNAL,
  LISTING_NAT_AND_INTERNAL,
  LISTING_NAT_AND_PORTS,
  NAT,
  ROUTED,
  SHARED,
  lines,
  withoutEndpoint,
} from './test-fixtures.js';

// Golden batches, like those in test-fixtures.ts: each was applied with nft 1.0.6 in the sandbox.
const GOLDEN_NAT = [
  ...HEAD,
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-in"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-out"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-nat"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-in"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-out"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-nat"}}}',
  ...SHARED,
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.99.1.0","len":24}}}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@subnets4"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-out","comment":"ctnet net a1b2c3","expr":[{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-nat","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"10.99.1.0","len":24}}}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"masquerade":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-nat","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"@subnets4"}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"return":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-nat","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"!=","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"10.99.1.0","len":24}}}},{"masquerade":null}]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_in4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.1.0","len":24}},"comment":"ctnet net a1b2c3"}},{"jump":{"target":"n-a1b2c3-in"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_out4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.1.0","len":24}},"comment":"ctnet net a1b2c3"}},{"jump":{"target":"n-a1b2c3-out"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"nat4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.1.0","len":24}},"comment":"ctnet net a1b2c3"}},{"jump":{"target":"n-a1b2c3-nat"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"subnets4","elem":[{"elem":{"val":{"prefix":{"addr":"10.99.1.0","len":24}},"comment":"ctnet net a1b2c3"}}]}}}',
];

const GOLDEN_ROUTED = [
  ...HEAD,
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-in"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-out"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-nat"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-in"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-out"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-nat"}}}',
  ...SHARED,
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-in","comment":"ctnet net d4e5f6","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.99.2.0","len":24}}}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-in","comment":"ctnet net d4e5f6","expr":[{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-in","comment":"ctnet net d4e5f6","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@subnets4"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-in","comment":"ctnet net d4e5f6","expr":[{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-out","comment":"ctnet net d4e5f6","expr":[{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-nat","comment":"ctnet net d4e5f6","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"10.99.2.0","len":24}}}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"masquerade":null}]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_in4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.2.0","len":24}},"comment":"ctnet net d4e5f6"}},{"jump":{"target":"n-d4e5f6-in"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_out4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.2.0","len":24}},"comment":"ctnet net d4e5f6"}},{"jump":{"target":"n-d4e5f6-out"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"nat4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.2.0","len":24}},"comment":"ctnet net d4e5f6"}},{"jump":{"target":"n-d4e5f6-nat"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"subnets4","elem":[{"elem":{"val":{"prefix":{"addr":"10.99.2.0","len":24}},"comment":"ctnet net d4e5f6"}}]}}}',
];

const GOLDEN_INTERNAL = [
  ...HEAD,
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-0718293a-in"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-0718293a-out"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-0718293a-in"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-0718293a-out"}}}',
  ...SHARED,
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-0718293a-in","comment":"ctnet net 0718293a","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.99.3.0","len":28}}}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-0718293a-in","comment":"ctnet net 0718293a","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@subnets4"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-0718293a-in","comment":"ctnet net 0718293a","expr":[{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-0718293a-out","comment":"ctnet net 0718293a","expr":[{"drop":null}]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_in4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.3.0","len":28}},"comment":"ctnet net 0718293a"}},{"jump":{"target":"n-0718293a-in"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_out4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.3.0","len":28}},"comment":"ctnet net 0718293a"}},{"jump":{"target":"n-0718293a-out"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"subnets4","elem":[{"elem":{"val":{"prefix":{"addr":"10.99.3.0","len":28}},"comment":"ctnet net 0718293a"}}]}}}',
];

describe('buildNetworkSetup()', () => {
  test('nat network: DNAT, isolation, replies in; everything out; hairpin, then masquerade', () => {
    assert.deepEqual(lines(buildNetworkSetup(NAT)), GOLDEN_NAT);
  });

  test('routed network: DNAT before isolation, inbound accepted after it, a nat chain for hairpin only', () => {
    assert.deepEqual(lines(buildNetworkSetup(ROUTED)), GOLDEN_ROUTED);
  });

  test('internal network: drops in and out, no nat chain', () => {
    assert.deepEqual(lines(buildNetworkSetup(INTERNAL)), GOLDEN_INTERNAL);
  });

  test('dual-stack network: ip and ip6 rules in the same chains, elements in both families', () => {
    assert.deepEqual(lines(buildNetworkSetup(DUAL_STACK)), GOLDEN_DUAL_STACK);
  });

  test('every rule carries an owner comment', () => {
    for (const cmd of buildNetworkSetup(DUAL_STACK)) {
      if ('add' in cmd && 'rule' in cmd.add) {
        const { chain, comment } = cmd.add.rule;
        assert.equal(comment, chain.startsWith('n-') ? ownerComment(DUAL_STACK.id) : 'ctnet base');
      }
    }
  });

  test('declares the network chains before the maps whose elements jump to them', () => {
    const cmds = lines(buildNetworkSetup(NAT));
    const lastChain = cmds.findLastIndex((l) => l.startsWith('{"add":{"chain"'));
    const firstMap = cmds.findIndex((l) => l.startsWith('{"add":{"map"'));
    assert.ok(lastChain < firstMap);
  });

  test('rejects an id that is not hex and a subnet whose family or prefix length is not one', () => {
    assert.throws(() => buildNetworkSetup({ ...NAT, id: 'n-1; drop' }), TypeError);
    assert.throws(() => buildNetworkSetup({ ...NAT, id: 'a'.repeat(65) }), TypeError);
    const v4 = parseCidr('10.99.1.0/24');
    assert.throws(() => buildNetworkSetup({ ...NAT, subnets: [{ ...v4, family: 5 as 4 }] }), TypeError);
    assert.throws(() => buildNetworkSetup({ ...NAT, subnets: [{ ...v4, prefix: 33 }] }), TypeError);
    assert.throws(() => buildNetworkSetup({ ...NAT, subnets: [{ ...v4, prefix: 24.5 }] }), TypeError);
  });
});

test('networkChains() names the chains after the id', () => {
  assert.deepEqual(networkChains('a1b2c3'), { in: 'n-a1b2c3-in', out: 'n-a1b2c3-out', nat: 'n-a1b2c3-nat' });
});

/** The listing with `id`'s chains and elements taken out, as the kernel would show it afterwards. */
function without(state: CtnetTableState, id: string): CtnetTableState {
  return {
    ...state,
    chains: state.chains.filter((c) => !c.startsWith(`n-${id}-`)),
    rules: state.rules.filter((r) => r.comment !== ownerComment(id)),
    elements: state.elements.filter((e) => e.comment !== ownerComment(id)),
  };
}

/** The NAT network's teardown: its elements, then its chains flushed and deleted. */
const NAT_TEARDOWN = [
  '{"delete":{"element":{"family":"inet","table":"ctnet","name":"fwd_in4","elem":[{"prefix":{"addr":"10.99.1.0","len":24}}]}}}',
  '{"delete":{"element":{"family":"inet","table":"ctnet","name":"fwd_out4","elem":[{"prefix":{"addr":"10.99.1.0","len":24}}]}}}',
  '{"delete":{"element":{"family":"inet","table":"ctnet","name":"nat4","elem":[{"prefix":{"addr":"10.99.1.0","len":24}}]}}}',
  '{"delete":{"element":{"family":"inet","table":"ctnet","name":"subnets4","elem":[{"prefix":{"addr":"10.99.1.0","len":24}}]}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-in"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-out"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-nat"}}}',
  '{"delete":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-in"}}}',
  '{"delete":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-out"}}}',
  '{"delete":{"chain":{"family":"inet","table":"ctnet","name":"n-a1b2c3-nat"}}}',
];

describe('buildNetworkTeardown()', () => {
  const state = readTableState(LISTING_NAT_AND_INTERNAL);

  test('deletes the network elements, then flushes and deletes its chains', () => {
    assert.deepEqual(lines(buildNetworkTeardown(NAT, state)), NAT_TEARDOWN);
  });

  test('deletes the whole table when the last network goes', () => {
    assert.deepEqual(lines(buildNetworkTeardown(INTERNAL, without(state, NAT.id))), [
      '{"delete":{"table":{"family":"inet","name":"ctnet"}}}',
    ]);
  });

  test('also deletes an element without a comment whose verdict jumps to the network', () => {
    const withBare: CtnetTableState = {
      ...state,
      elements: [...state.elements, { set: 'fwd_in4', key: '10.99.1.77', target: 'n-a1b2c3-in' }],
    };
    const cmds = lines(buildNetworkTeardown(NAT, withBare));
    assert.equal(
      cmds[0],
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"fwd_in4","elem":[{"prefix":{"addr":"10.99.1.0","len":24}},"10.99.1.77"]}}}',
    );
  });

  test('is empty when the table is missing or the network is not in it', () => {
    assert.deepEqual(buildNetworkTeardown(NAT, undefined), []);
    assert.deepEqual(buildNetworkTeardown(ROUTED, state), []);
  });

  test('rejects an id that is not hex', () => {
    assert.throws(() => buildNetworkTeardown({ ...NAT, id: '*' }, state), TypeError);
  });
});

describe('published ports in the table state', () => {
  const state = readTableState(LISTING_NAT_AND_PORTS);

  test('buildNetworkTeardown() of the last network keeps the table while ports are published', () => {
    assert.deepEqual(lines(buildNetworkTeardown(NAT, state)), NAT_TEARDOWN);
    // One endpoint's ports are enough to keep it.
    assert.equal(buildNetworkTeardown(NAT, withoutEndpoint(state, 'e1e2')).length, 10);
  });

  test('buildNetworkTeardown() deletes the table once no port is published, whatever base chains exist', () => {
    const noPorts = withoutEndpoint(withoutEndpoint(state, 'e1e2'), 'f3f4');
    assert.deepEqual(lines(buildNetworkTeardown(NAT, noPorts)), ['{"delete":{"table":{"family":"inet","name":"ctnet"}}}']);
  });
});

describe('owners: tableOwners() and buildOwnersTeardown()', () => {
  const state = readTableState(LISTING_NAT_AND_PORTS);

  test('tableOwners() names each network by its chains and comments, each endpoint by its elements', () => {
    assert.deepEqual(tableOwners(state), { networks: ['a1b2c3'], endpoints: ['e1e2', 'f3f4'] });
    assert.deepEqual(tableOwners(readTableState(LISTING_NAT_AND_INTERNAL)), { networks: ['0718293a', 'a1b2c3'], endpoints: [] });
    assert.deepEqual(tableOwners({ chains: ['forward', 'n-ab-in'], sets: [], rules: [{ chain: 'forward', comment: 'ctnet net *' }], elements: [] }), { networks: ['ab'], endpoints: [] });
  });

  test('of one network it is that network\'s teardown', () => {
    assert.deepEqual(buildOwnersTeardown({ networks: [NAT.id], endpoints: [] }, state), buildNetworkTeardown(NAT, state));
  });

  test('an endpoint\'s elements go with it; the table goes once nobody else is left', () => {
    const oneEndpoint = lines(buildOwnersTeardown({ networks: [], endpoints: ['e1e2'] }, state));
    assert.ok(oneEndpoint.length > 0 && oneEndpoint.every((l) => l.startsWith('{"delete":{"element":')), oneEndpoint.join('\n'));
    assert.deepEqual(lines(buildOwnersTeardown({ networks: [NAT.id], endpoints: ['e1e2', 'f3f4'] }, state)), ['{"delete":{"table":{"family":"inet","name":"ctnet"}}}']);
  });

  test('is empty when the table is missing, and rejects an id that is not hex', () => {
    assert.deepEqual(buildOwnersTeardown({ networks: [NAT.id], endpoints: ['e1e2'] }, undefined), []);
    assert.throws(() => buildOwnersTeardown({ networks: [], endpoints: ['x y'] }, state), TypeError);
  });
});
