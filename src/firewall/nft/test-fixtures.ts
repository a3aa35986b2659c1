/**
 * Fixtures shared by the nft unit tests: networks and endpoints, the golden batch parts every setup
 * starts with, and table listings captured from nft 1.0.6 in the sandbox.
 * @module
 */
import { parseCidr } from '../../inet/cidr.js';
import { parseIp } from '../../inet/ip.js';
import type { FirewallEndpoint, FirewallNetwork, PortMapping } from '../driver.js';
import { endpointComment } from './port-rules.js';
import type { NftCommand } from './schema.js';
import type { CtnetTableState } from './table-state.js';

export const NAT: FirewallNetwork = { id: 'a1b2c3', name: 'natnet', mode: 'nat', subnets: [parseCidr('10.99.1.0/24')] };
export const ROUTED: FirewallNetwork = {
  id: 'd4e5f6',
  name: 'routednet',
  mode: 'routed',
  subnets: [parseCidr('10.99.2.0/24')],
};
export const INTERNAL: FirewallNetwork = {
  id: '0718293a',
  name: 'internalnet',
  mode: 'internal',
  subnets: [parseCidr('10.99.3.0/28')],
};
export const DUAL_STACK: FirewallNetwork = {
  id: 'beef01',
  name: 'dualnet',
  mode: 'nat',
  subnets: [
    parseCidr('10.99.4.0/24'),
    parseCidr('fd00:99:4::/64'),
  ],
};

/** One command per line, so a failing comparison shows which command differs. */
export function lines(cmds: NftCommand[]): string[] {
  return cmds.map((c) => JSON.stringify(c));
}

// Golden batches. Every one of them was applied with nft 1.0.6 in the sandbox (and the integration
// test applies the same builder's output), so they are known to be accepted by nft.
// The part of every setup batch that does not depend on the network.
export const HEAD = [
  '{"add":{"table":{"family":"inet","name":"ctnet"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"forward","type":"filter","hook":"forward","prio":0,"policy":"accept"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"postrouting","type":"nat","hook":"postrouting","prio":100,"policy":"accept"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"prerouting","type":"nat","hook":"prerouting","prio":-100,"policy":"accept"}}}',
  '{"add":{"chain":{"family":"inet","table":"ctnet","name":"output","type":"nat","hook":"output","prio":-100,"policy":"accept"}}}',
];

/**
 * The DNAT rules of the prerouting and output chains: per family, the one-address maps, then the
 * any-address maps for local destinations. Two maps per lookup (address, port): see `NftMap`.
 */
function dnatRules(chain: 'prerouting' | 'output'): string[] {
  return [
    `{"flush":{"chain":{"family":"inet","table":"ctnet","name":"${chain}"}}}`,
    `{"add":{"rule":{"family":"inet","table":"ctnet","chain":"${chain}","comment":"ctnet base","expr":[{"dnat":{"family":"ip","addr":{"map":{"key":{"concat":[{"payload":{"protocol":"ip","field":"daddr"}},{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub4_ip_addr"}},"port":{"map":{"key":{"concat":[{"payload":{"protocol":"ip","field":"daddr"}},{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub4_ip_port"}}}}]}}}`,
    `{"add":{"rule":{"family":"inet","table":"ctnet","chain":"${chain}","comment":"ctnet base","expr":[{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"ipv4"}},{"match":{"op":"==","left":{"fib":{"result":"type","flags":["daddr"]}},"right":"local"}},{"dnat":{"family":"ip","addr":{"map":{"key":{"concat":[{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub4_any_addr"}},"port":{"map":{"key":{"concat":[{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub4_any_port"}}}}]}}}`,
    `{"add":{"rule":{"family":"inet","table":"ctnet","chain":"${chain}","comment":"ctnet base","expr":[{"dnat":{"family":"ip6","addr":{"map":{"key":{"concat":[{"payload":{"protocol":"ip6","field":"daddr"}},{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub6_ip_addr"}},"port":{"map":{"key":{"concat":[{"payload":{"protocol":"ip6","field":"daddr"}},{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub6_ip_port"}}}}]}}}`,
    `{"add":{"rule":{"family":"inet","table":"ctnet","chain":"${chain}","comment":"ctnet base","expr":[{"match":{"op":"==","left":{"meta":{"key":"nfproto"}},"right":"ipv6"}},{"match":{"op":"==","left":{"fib":{"result":"type","flags":["daddr"]}},"right":"local"}},{"dnat":{"family":"ip6","addr":{"map":{"key":{"concat":[{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub6_any_addr"}},"port":{"map":{"key":{"concat":[{"meta":{"key":"l4proto"}},{"payload":{"protocol":"th","field":"dport"}}]},"data":"@pub6_any_port"}}}}]}}}`,
  ];
}

export const SHARED = [
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_in4","type":"ipv4_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_out4","type":"ipv4_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"nat4","type":"ipv4_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_in6","type":"ipv6_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"fwd_out6","type":"ipv6_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"nat6","type":"ipv6_addr","map":"verdict","flags":["interval"]}}}',
  '{"add":{"set":{"family":"inet","table":"ctnet","name":"subnets4","type":"ipv4_addr","flags":["interval"]}}}',
  '{"add":{"set":{"family":"inet","table":"ctnet","name":"subnets6","type":"ipv6_addr","flags":["interval"]}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub4_ip_addr","type":["ipv4_addr","inet_proto","inet_service"],"map":"ipv4_addr"}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub4_ip_port","type":["ipv4_addr","inet_proto","inet_service"],"map":"inet_service"}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub4_any_addr","type":["inet_proto","inet_service"],"map":"ipv4_addr"}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub4_any_port","type":["inet_proto","inet_service"],"map":"inet_service"}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub6_ip_addr","type":["ipv6_addr","inet_proto","inet_service"],"map":"ipv6_addr"}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub6_ip_port","type":["ipv6_addr","inet_proto","inet_service"],"map":"inet_service"}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub6_any_addr","type":["inet_proto","inet_service"],"map":"ipv6_addr"}}}',
  '{"add":{"map":{"family":"inet","table":"ctnet","name":"pub6_any_port","type":["inet_proto","inet_service"],"map":"inet_service"}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"forward"}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip","field":"daddr"}},"data":"@fwd_in4"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip6","field":"daddr"}},"data":"@fwd_in6"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@fwd_out4"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"forward","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip6","field":"saddr"}},"data":"@fwd_out6"}}]}}}',
  '{"flush":{"chain":{"family":"inet","table":"ctnet","name":"postrouting"}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"postrouting","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip","field":"saddr"}},"data":"@nat4"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"postrouting","comment":"ctnet base","expr":[{"vmap":{"key":{"payload":{"protocol":"ip6","field":"saddr"}},"data":"@nat6"}}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"postrouting","comment":"ctnet base","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"127.0.0.0","len":8}}}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"masquerade":null}]}}}',
  ...dnatRules('prerouting'),
  ...dnatRules('output'),
];

export const GOLDEN_DUAL_STACK = [
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
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@subnets4"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":"@subnets6"}},{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-in","comment":"ctnet net beef01","expr":[{"drop":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-out","comment":"ctnet net beef01","expr":[{"accept":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-nat","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":{"prefix":{"addr":"10.99.4.0","len":24}}}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"masquerade":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-nat","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":{"prefix":{"addr":"fd00:99:4::","len":64}}}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"masquerade":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-nat","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"@subnets4"}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"return":null}]}}}',
  '{"add":{"rule":{"family":"inet","table":"ctnet","chain":"n-beef01-nat","comment":"ctnet net beef01","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":"@subnets6"}},{"match":{"op":"in","left":{"ct":{"key":"status"}},"right":"dnat"}},{"return":null}]}}}',
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

// `nft -j list table inet ctnet` with NAT and INTERNAL set up, captured from nft 1.0.6 in the
// sandbox; all rules but one are left out (the teardown does not read rules).
export const LISTING_NAT_AND_INTERNAL = {
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

// Published ports. The endpoint e1e2 is attached to NAT (10.99.1.0/24) and to a dual-stack twin.
export const TCP_ANY: PortMapping = { family: 4, protocol: 'tcp', hostPort: 8080, containerIp: parseIp('10.99.1.2'), containerPort: 80 };
export const UDP_ONE_IP: PortMapping = {
  family: 4,
  protocol: 'udp',
  hostIp: parseIp('192.0.2.10'),
  hostPort: 5353,
  containerIp: parseIp('10.99.1.2'),
  containerPort: 53,
};
export const V6_ANY: PortMapping = { family: 6, protocol: 'tcp', hostPort: 8080, containerIp: parseIp('fd00:99:1::2'), containerPort: 80 };
export const V6_ONE_IP: PortMapping = {
  family: 6,
  protocol: 'tcp',
  hostIp: parseIp('2001:db8::10'),
  hostPort: 8443,
  containerIp: parseIp('fd00:99:1::2'),
  containerPort: 443,
};

export function endpoint(...ports: PortMapping[]): FirewallEndpoint {
  return { id: 'e1e2', networkId: NAT.id, ports };
}

// `nft -j list table inet ctnet` with NAT set up and two endpoints publishing ports (e1e2: tcp 8080
// on every address and udp 192.0.2.10:5353; f3f4: tcp 9090), captured from nft 1.0.6 in the
// sandbox; rules and the empty IPv6 objects are left out.
export const LISTING_NAT_AND_PORTS = {
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'ctnet', handle: 1 } },
    {
      map: {
        family: 'inet', name: 'fwd_in4', table: 'ctnet', type: 'ipv4_addr', handle: 8, map: 'verdict', flags: ['interval'],
        elem: [[{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-in' } }]],
      },
    },
    {
      map: {
        family: 'inet', name: 'fwd_out4', table: 'ctnet', type: 'ipv4_addr', handle: 9, map: 'verdict', flags: ['interval'],
        elem: [[{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-out' } }]],
      },
    },
    {
      map: {
        family: 'inet', name: 'nat4', table: 'ctnet', type: 'ipv4_addr', handle: 10, map: 'verdict', flags: ['interval'],
        elem: [[{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-nat' } }]],
      },
    },
    {
      set: {
        family: 'inet', name: 'subnets4', table: 'ctnet', type: 'ipv4_addr', handle: 14, flags: ['interval'],
        elem: [{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }],
      },
    },
    {
      map: {
        family: 'inet', name: 'pub4_ip_addr', table: 'ctnet', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 16, map: 'ipv4_addr',
        elem: [[{ elem: { val: { concat: ['192.0.2.10', 'udp', 5353] }, comment: 'ctnet ep e1e2' } }, '10.99.1.2']],
      },
    },
    {
      map: {
        family: 'inet', name: 'pub4_ip_port', table: 'ctnet', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 17, map: 'inet_service',
        elem: [[{ elem: { val: { concat: ['192.0.2.10', 'udp', 5353] }, comment: 'ctnet ep e1e2' } }, 53]],
      },
    },
    {
      map: {
        family: 'inet', name: 'pub4_any_addr', table: 'ctnet', type: ['inet_proto', 'inet_service'], handle: 18, map: 'ipv4_addr',
        elem: [
          [{ elem: { val: { concat: ['tcp', 9090] }, comment: 'ctnet ep f3f4' } }, '10.99.1.3'],
          [{ elem: { val: { concat: ['tcp', 8080] }, comment: 'ctnet ep e1e2' } }, '10.99.1.2'],
        ],
      },
    },
    {
      map: {
        family: 'inet', name: 'pub4_any_port', table: 'ctnet', type: ['inet_proto', 'inet_service'], handle: 19, map: 'inet_service',
        elem: [
          [{ elem: { val: { concat: ['tcp', 9090] }, comment: 'ctnet ep f3f4' } }, 90],
          [{ elem: { val: { concat: ['tcp', 8080] }, comment: 'ctnet ep e1e2' } }, 80],
        ],
      },
    },
    { map: { family: 'inet', name: 'pub6_any_addr', table: 'ctnet', type: ['inet_proto', 'inet_service'], handle: 22, map: 'ipv6_addr' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'forward', handle: 1, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'postrouting', handle: 2, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'prerouting', handle: 3, type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'output', handle: 4, type: 'nat', hook: 'output', prio: -100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-in', handle: 5 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-out', handle: 6 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-nat', handle: 7 } },
  ],
};

/** The state without endpoint `id`'s published ports, as the kernel would show it afterwards. */
export function withoutEndpoint(state: CtnetTableState, id: string): CtnetTableState {
  return { ...state, elements: state.elements.filter((e) => e.comment !== endpointComment(id)) };
}

// Rules of one chain and owner as `nft -j list` shows them, with consecutive handles; the
// expressions are left out (the check counts rules by chain and owner).
function listedRules(chain: string, comment: string, firstHandle: number, count: number): { rule: Record<string, unknown> }[] {
  return Array.from({ length: count }, (_, i) => ({ rule: { family: 'inet', table: 'ctnet', chain, handle: firstHandle + i, comment } }));
}

/**
 * `nft -j list table inet ctnet` right after NAT's setupNetwork and endpoint(TCP_ANY, UDP_ONE_IP)'s
 * setupPorts, captured from nft 1.0.6 in the sandbox: everything, but the rules' expressions.
 */
export const LISTING_NAT_COMPLETE = {
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'ctnet', handle: 1 } },
    {
      map: {
        family: 'inet', name: 'fwd_in4', table: 'ctnet', type: 'ipv4_addr', handle: 8, map: 'verdict', flags: ['interval'],
        elem: [[{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-in' } }]],
      },
    },
    {
      map: {
        family: 'inet', name: 'fwd_out4', table: 'ctnet', type: 'ipv4_addr', handle: 9, map: 'verdict', flags: ['interval'],
        elem: [[{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-out' } }]],
      },
    },
    {
      map: {
        family: 'inet', name: 'nat4', table: 'ctnet', type: 'ipv4_addr', handle: 10, map: 'verdict', flags: ['interval'],
        elem: [[{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }, { jump: { target: 'n-a1b2c3-nat' } }]],
      },
    },
    { map: { family: 'inet', name: 'fwd_in6', table: 'ctnet', type: 'ipv6_addr', handle: 11, map: 'verdict', flags: ['interval'] } },
    { map: { family: 'inet', name: 'fwd_out6', table: 'ctnet', type: 'ipv6_addr', handle: 12, map: 'verdict', flags: ['interval'] } },
    { map: { family: 'inet', name: 'nat6', table: 'ctnet', type: 'ipv6_addr', handle: 13, map: 'verdict', flags: ['interval'] } },
    {
      set: {
        family: 'inet', name: 'subnets4', table: 'ctnet', type: 'ipv4_addr', handle: 14, flags: ['interval'],
        elem: [{ elem: { val: { prefix: { addr: '10.99.1.0', len: 24 } }, comment: 'ctnet net a1b2c3' } }],
      },
    },
    { set: { family: 'inet', name: 'subnets6', table: 'ctnet', type: 'ipv6_addr', handle: 15, flags: ['interval'] } },
    {
      map: {
        family: 'inet', name: 'pub4_ip_addr', table: 'ctnet', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 16, map: 'ipv4_addr',
        elem: [[{ elem: { val: { concat: ['192.0.2.10', 'udp', 5353] }, comment: 'ctnet ep e1e2' } }, '10.99.1.2']],
      },
    },
    {
      map: {
        family: 'inet', name: 'pub4_ip_port', table: 'ctnet', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 17, map: 'inet_service',
        elem: [[{ elem: { val: { concat: ['192.0.2.10', 'udp', 5353] }, comment: 'ctnet ep e1e2' } }, 53]],
      },
    },
    {
      map: {
        family: 'inet', name: 'pub4_any_addr', table: 'ctnet', type: ['inet_proto', 'inet_service'], handle: 18, map: 'ipv4_addr',
        elem: [[{ elem: { val: { concat: ['tcp', 8080] }, comment: 'ctnet ep e1e2' } }, '10.99.1.2']],
      },
    },
    {
      map: {
        family: 'inet', name: 'pub4_any_port', table: 'ctnet', type: ['inet_proto', 'inet_service'], handle: 19, map: 'inet_service',
        elem: [[{ elem: { val: { concat: ['tcp', 8080] }, comment: 'ctnet ep e1e2' } }, 80]],
      },
    },
    { map: { family: 'inet', name: 'pub6_ip_addr', table: 'ctnet', type: ['ipv6_addr', 'inet_proto', 'inet_service'], handle: 20, map: 'ipv6_addr' } },
    { map: { family: 'inet', name: 'pub6_ip_port', table: 'ctnet', type: ['ipv6_addr', 'inet_proto', 'inet_service'], handle: 21, map: 'inet_service' } },
    { map: { family: 'inet', name: 'pub6_any_addr', table: 'ctnet', type: ['inet_proto', 'inet_service'], handle: 22, map: 'ipv6_addr' } },
    { map: { family: 'inet', name: 'pub6_any_port', table: 'ctnet', type: ['inet_proto', 'inet_service'], handle: 23, map: 'inet_service' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'forward', handle: 1, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'postrouting', handle: 2, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'prerouting', handle: 3, type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'output', handle: 4, type: 'nat', hook: 'output', prio: -100, policy: 'accept' } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-in', handle: 5 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-out', handle: 6 } },
    { chain: { family: 'inet', table: 'ctnet', name: 'n-a1b2c3-nat', handle: 7 } },
    ...listedRules('forward', 'ctnet base', 24, 4),
    ...listedRules('postrouting', 'ctnet base', 28, 3),
    ...listedRules('prerouting', 'ctnet base', 31, 4),
    ...listedRules('output', 'ctnet base', 35, 4),
    ...listedRules('n-a1b2c3-in', 'ctnet net a1b2c3', 39, 5),
    ...listedRules('n-a1b2c3-out', 'ctnet net a1b2c3', 44, 1),
    ...listedRules('n-a1b2c3-nat', 'ctnet net a1b2c3', 45, 3),
  ],
};
