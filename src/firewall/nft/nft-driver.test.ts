import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { NftError } from '../../errors.js';
import type { FirewallNetwork } from '../driver.js';
import { NoneFirewallDriver } from '../none-driver.js';
import { FakeNftRunner } from './fake-runner.js';
import {
  NftFirewallDriver,
  buildNetworkSetup,
  buildNetworkTeardown,
  networkChains,
  ownerComment,
  readTableState,
  type CtnetTableState,
} from './nft-driver.js';
import type { NftCommand } from './schema.js';

const NAT: FirewallNetwork = { id: 'a1b2c3', name: 'natnet', mode: 'nat', subnets: [{ cidr: '10.99.1.0/24', family: 4 }] };
const ROUTED: FirewallNetwork = {
  id: 'd4e5f6',
  name: 'routednet',
  mode: 'routed',
  subnets: [{ cidr: '10.99.2.0/24', family: 4 }],
};
const INTERNAL: FirewallNetwork = {
  id: '0718293a',
  name: 'internalnet',
  mode: 'internal',
  subnets: [{ cidr: '10.99.3.0/28', family: 4 }],
};
const DUAL_STACK: FirewallNetwork = {
  id: 'beef01',
  name: 'dualnet',
  mode: 'nat',
  subnets: [
    { cidr: '10.99.4.0/24', family: 4 },
    { cidr: 'fd00:99:4::/64', family: 6 },
  ],
};

/** One command per line, so a failing comparison shows which command differs. */
function lines(cmds: NftCommand[]): string[] {
  return cmds.map((c) => JSON.stringify(c));
}

// Golden batches. Every one of them was applied with nft 1.0.6 in the sandbox (and the integration
// test applies the same builder's output), so they are known to be accepted by nft.
// The part of every setup batch that does not depend on the network.
const HEAD = [
  '{"add":{"table":{"family":"inet","name":"ctnet"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"forward","type":"filter","hook":"forward","prio":0,"policy":"accept"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"postrouting","type":"nat","hook":"postrouting","prio":100,"policy":"accept"}}}',
];

const SHARED = [
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_in4","type":"ipv4_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_out4","type":"ipv4_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"nat4","type":"ipv4_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_in6","type":"ipv6_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_out6","type":"ipv6_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"nat6","type":"ipv6_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"set":{"family":"inet","table":"ctnet","name":"subnets4","type":"ipv4_addr","flags":["interval"]}}}',
  '{"add":{"set":{"family":"inet","table":"ctnet","name":"subnets6","type":"ipv6_addr","flags":["interval"]}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"forward"}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip","field":"daddr"}},"data":"@fwd_in4"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip6","field":"daddr"}},"data":"@fwd_in6"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@fwd_out4"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip6","field":"saddr"}},"data":"@fwd_out6"}}]}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"postrouting"}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"postrouting","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@nat4"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"postrouting","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip6","field":"saddr"}},"data":"@nat6"}}]}}}',
];

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
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@subnets4"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-in","comment":"ctnet net a1b2c3","expr":[{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-a1b2c3-out","comment":"ctnet net a1b2c3","expr":[{"accept":null}]}}}',
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
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-in"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-d4e5f6-out"}}}',
  ...SHARED,
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-in","comment":"ctnet net d4e5f6","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.99.2.0","len":24}}}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-in","comment":"ctnet net d4e5f6","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@subnets4"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-in","comment":"ctnet net d4e5f6","expr":[{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-d4e5f6-out","comment":"ctnet net d4e5f6","expr":[{"accept":null}]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_in4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.2.0","len":24}},"comment":"ctnet net d4e5f6"}},{"jump":{"target":"n-d4e5f6-in"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_out4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.2.0","len":24}},"comment":"ctnet net d4e5f6"}},{"jump":{"target":"n-d4e5f6-out"}}]]}}}',
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

const GOLDEN_DUAL_STACK = [
  ...HEAD,
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-beef01-in"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-beef01-out"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"n-beef01-nat"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-beef01-in"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-beef01-out"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"n-beef01-nat"}}}',
  ...SHARED,
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.99.4.0","len":24}}}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":{"prefix":{"addr":"fd00:99:4::","len":64}}}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@subnets4"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":"@subnets6"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-out","comment":"ctnet net beef01","expr":[{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-nat","comment":"ctnet net beef01","expr":[{"match":{"op":"!=","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"10.99.4.0","len":24}}}},{"masquerade":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-nat","comment":"ctnet net beef01","expr":[{"match":{"op":"!=","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":{"prefix":{"addr":"fd00:99:4::","len":64}}}},{"masquerade":null}]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_in4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.4.0","len":24}},"comment":"ctnet net beef01"}},{"jump":{"target":"n-beef01-in"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_out4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.4.0","len":24}},"comment":"ctnet net beef01"}},{"jump":{"target":"n-beef01-out"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"nat4","elem":[[{"elem":{"val":{"prefix":{"addr":"10.99.4.0","len":24}},"comment":"ctnet net beef01"}},{"jump":{"target":"n-beef01-nat"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"subnets4","elem":[{"elem":{"val":{"prefix":{"addr":"10.99.4.0","len":24}},"comment":"ctnet net beef01"}}]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_in6","elem":[[{"elem":{"val":{"prefix":{"addr":"fd00:99:4::","len":64}},"comment":"ctnet net beef01"}},{"jump":{"target":"n-beef01-in"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"fwd_out6","elem":[[{"elem":{"val":{"prefix":{"addr":"fd00:99:4::","len":64}},"comment":"ctnet net beef01"}},{"jump":{"target":"n-beef01-out"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"nat6","elem":[[{"elem":{"val":{"prefix":{"addr":"fd00:99:4::","len":64}},"comment":"ctnet net beef01"}},{"jump":{"target":"n-beef01-nat"}}]]}}}',
  '{"add":{"element":{"family":"inet","table":"ctnet","name":"subnets6","elem":[{"elem":{"val":{"prefix":{"addr":"fd00:99:4::","len":64}},"comment":"ctnet net beef01"}}]}}}',
];

describe('buildNetworkSetup()', () => {
  test('nat network: isolation, replies and DNAT in, everything out, masquerade', () => {
    assert.deepEqual(lines(buildNetworkSetup(NAT)), GOLDEN_NAT);
  });

  test('routed network: no nat chain, inbound accepted after isolation', () => {
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

  test('rejects an id that is not hex and a subnet of the wrong family', () => {
    assert.throws(() => buildNetworkSetup({ ...NAT, id: 'n-1; drop' }), TypeError);
    assert.throws(() => buildNetworkSetup({ ...NAT, id: 'a'.repeat(65) }), TypeError);
    assert.throws(() => buildNetworkSetup({ ...NAT, subnets: [{ cidr: '10.99.1.0/24', family: 6 }] }), TypeError);
    assert.throws(() => buildNetworkSetup({ ...NAT, subnets: [{ cidr: '10.99.1.0', family: 4 }] }), TypeError);
    assert.throws(() => buildNetworkSetup({ ...NAT, subnets: [{ cidr: '10.99.1.0/33', family: 4 }] }), TypeError);
  });
});

test('networkChains() names the chains after the id', () => {
  assert.deepEqual(networkChains('a1b2c3'), { in: 'n-a1b2c3-in', out: 'n-a1b2c3-out', nat: 'n-a1b2c3-nat' });
});

// `nft -j list table inet ctnet` with NAT and INTERNAL set up, captured from nft 1.0.6 in the
// sandbox; all rules but one are left out (the teardown does not read rules).
const LISTING_NAT_AND_INTERNAL = {
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'ctnet', handle: 1 } },
    {
      map: {
        family: 'inet', name: 'fwd_in4', table: 'ctnet', type: 'ipv4_addr', handle: 6, map: 'verdict', flags: ['interval'],
        elem: [
          [{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-in' } }],
          [{ elem: { val: { prefix: { addr: '10.99.3.0', len: 28 } }, comment: 'ctnet net 0718293a' } }, { jump: { target: 'n-0718293a-in' } }],
        ],
      },
    },
    {
      map: {
        family: 'inet', name: 'fwd_out4', table: 'ctnet', type: 'ipv4_addr', handle: 7, map: 'verdict', flags: ['interval'],
        elem: [
          [{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-out' } }],
          [{ elem: { val: { prefix: { addr: '10.99.3.0', len: 28 } }, comment: 'ctnet net 0718293a' } }, { jump: { target: 'n-0718293a-out' } }],
        ],
      },
    },
    {
      map: {
        family: 'inet', name: 'nat4', table: 'ctnet', type: 'ipv4_addr', handle: 8, map: 'verdict', flags: ['interval'],
        elem: [
          [{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-nat' } }],
        ],
      },
    },
    { map: { family: 'inet', name: 'fwd_in6', table: 'ctnet', type: 'ipv6_addr', handle: 9, map: 'verdict', flags: ['interval'] } },
    { map: { family: 'inet', name: 'fwd_out6', table: 'ctnet', type: 'ipv6_addr', handle: 10, map: 'verdict', flags: ['interval'] } },
    { map: { family: 'inet', name: 'nat6', table: 'ctnet', type: 'ipv6_addr', handle: 11, map: 'verdict', flags: ['interval'] } },
    {
      set: {
        family: 'inet', name: 'subnets4', table: 'ctnet', type: 'ipv4_addr', handle: 12, flags: ['interval'],
        elem: [
          { elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } },
          { elem: { val: { prefix: { addr: '10.99.3.0', len: 28 } }, comment: 'ctnet net 0718293a' } },
        ],
      },
    },
    { set: { family: 'inet', name: 'subnets6', table: 'ctnet', type: 'ipv6_addr', handle: 13, flags: ['interval'] } },
    { chain: { family: 'inet', table: 'ctnet', name: 'forward', handle: 1, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'postrouting', handle: 2, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-in', handle: 3 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-out', handle: 4 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-nat', handle: 5 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-0718293a-in', handle: 27 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-0718293a-out', handle: 28 } },
    {
      rule: {
        family: 'inet', table: 'ctnet', chain: 'n-0718293a-out', handle: 33, comment: 'ctnet net 0718293a',
        expr: [{ drop: null }],
      },
    },
  ],
};

/** The listing with `id`'s chains and elements taken out, as the kernel would show it afterwards. */
function without(state: CtnetTableState, id: string): CtnetTableState {
  return {
    chains: state.chains.filter((c) => !c.startsWith(`n-${id}-`)),
    elements: state.elements.filter((e) => e.comment !== ownerComment(id)),
  };
}

describe('readTableState()', () => {
  test('reads chains and elements with their keys, owners and verdict targets', () => {
    const state = readTableState(LISTING_NAT_AND_INTERNAL);
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

  test('accepts bare keys (elements without a comment) and ranges', () => {
    const state = readTableState({
      nftables: [
        { map: { family: 'inet', table: 'ctnet', name: 'fwd_in4', elem: [['10.99.9.9', { goto: { target: 'n-ff-in' } }]] } },
        { set: { family: 'inet', table: 'ctnet', name: 'subnets4', elem: [{ range: ['10.99.9.1', '10.99.9.5'] }] } },
      ],
    });
    assert.deepEqual(state.elements, [
      { set: 'fwd_in4', key: '10.99.9.9', target: 'n-ff-in' },
      { set: 'subnets4', key: { range: ['10.99.9.1', '10.99.9.5'] } },
    ]);
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
  });
});

describe('buildNetworkTeardown()', () => {
  const state = readTableState(LISTING_NAT_AND_INTERNAL);

  test('deletes the network elements, then flushes and deletes its chains', () => {
    assert.deepEqual(lines(buildNetworkTeardown(NAT, state)), [
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
    ]);
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

test('NoneFirewallDriver does nothing', async () => {
  const driver = new NoneFirewallDriver();
  assert.equal(driver.name, 'none');
  await driver.setupNetwork(NAT);
  await driver.teardownNetwork(NAT);
});
