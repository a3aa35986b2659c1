/**
 * The layout of ctnet's table: its names and constants, and the builders of table references,
 * rules and elements that the setup and teardown batches share. ctnet owns one table,
 * `inet ctnet`, and never touches any other.
 *
 * Layout (per network, nothing per container or per port, so no rule handles are ever needed):
 * ```
 * table inet ctnet {
 *   map fwd_in4  { type ipv4_addr : verdict; flags interval; }  # dst subnet → jump n-<id>-in
 *   map fwd_out4 { ... }                                        # src subnet → jump n-<id>-out
 *   map nat4     { ... }                                        # src subnet → jump n-<id>-nat
 *   set subnets4 { type ipv4_addr; flags interval; }            # every ctnet subnet
 *   map pub4_any_addr { type inet_proto . inet_service : ipv4_addr; }              # published ports:
 *   map pub4_any_port { type inet_proto . inet_service : inet_service; }           #   any local address
 *   map pub4_ip_addr  { type ipv4_addr . inet_proto . inet_service : ipv4_addr; }  #   one host address
 *   map pub4_ip_port  { type ipv4_addr . inet_proto . inet_service : inet_service; }
 *   (and the same eight with 6 for IPv6)
 *   chain forward     { type filter hook forward priority filter; policy accept;
 *                       ip daddr vmap @fwd_in4; ip6 daddr vmap @fwd_in6
 *                       ip saddr vmap @fwd_out4; ip6 saddr vmap @fwd_out6 }
 *   chain postrouting { type nat hook postrouting priority srcnat; policy accept;
 *                       ip saddr vmap @nat4; ip6 saddr vmap @nat6
 *                       ip saddr 127.0.0.0/8 ct status dnat masquerade }
 *   chain prerouting  { type nat hook prerouting priority dstnat; policy accept;
 *                       dnat ip to ip daddr . meta l4proto . th dport map @pub4_ip_addr
 *                                : ip daddr . meta l4proto . th dport map @pub4_ip_port
 *                       meta nfproto ipv4 fib daddr type local
 *                         dnat ip to meta l4proto . th dport map @pub4_any_addr
 *                                  : meta l4proto . th dport map @pub4_any_port
 *                       (and the same two for ip6) }
 *   chain output      { type nat hook output priority dstnat; policy accept; the same as prerouting }
 *   chain n-<id>-in / n-<id>-out / n-<id>-nat { the network's own rules }
 * }
 * ```
 * The maps make a packet's cost independent of the number of networks and of published ports: one
 * lookup per direction, two per DNAT rule. Every rule and element carries an owner comment,
 * `ctnet net <id>` or `ctnet ep <endpoint id>`, so the table itself says who owns what.
 *
 * Published ports use two maps with the same keys, one for the address and one for the port, where a
 * single map to `ipv4_addr . inet_service` would do: nft 1.0.6 cannot create a map with concatenated
 * data from JSON (see `NftMap`). Both are filled and emptied in the same transaction.
 *
 * DNAT in the `output` chain serves the host's own clients. For `127.0.0.1` to work, the engine sets
 * `net.ipv4.conf.<egress interface>.route_localnet=1` (the kernel drops a packet with a loopback
 * source on any other interface otherwise); the postrouting rule above then masquerades it.
 * @module
 */
import type {
  NftChain,
  NftCommand,
  NftElemKey,
  NftMapElem,
  NftPayload,
  NftPrefix,
  NftRule,
  NftSetElem,
  NftSetRef,
  NftStatement,
} from './schema.js';
import type { ListedElement } from './table-state.js';

/** The table ctnet owns (family `inet`). */
export const CTNET_TABLE = 'ctnet';

/** The table's family. */
export const FAMILY = 'inet';
/** The base chains, each named after its hook. */
export const BASE_FORWARD = 'forward';
export const BASE_POSTROUTING = 'postrouting';
export const BASE_PREROUTING = 'prerouting';
export const BASE_OUTPUT = 'output';
export const BASE_CHAINS: readonly string[] = [BASE_FORWARD, BASE_POSTROUTING, BASE_PREROUTING, BASE_OUTPUT];

/** An address family: IPv4 or IPv6. */
export type Fam = 4 | 6;
/** Both address families, IPv4 first. */
export const FAMILIES = [4, 6] as const;

/** Published ports on one host address (`ip`) or on every local address (`any`). */
export type PubKind = 'ip' | 'any';
/** The two maps of a kind: the DNAT address and the DNAT port, under the same keys. */
export type PubPart = 'addr' | 'port';
/** Both kinds, one-address maps first: their DNAT rules come first and win. */
export const PUB_KINDS: readonly PubKind[] = ['ip', 'any'];
/** Both parts, address first. */
export const PUB_PARTS: readonly PubPart[] = ['addr', 'port'];

/**
 * The name of a published-port map: `pub<family>_<ip|any>_<addr|port>`.
 *
 * @example
 * ```ts
 * pubMapName(4, 'any', 'addr'); // 'pub4_any_addr'
 * ```
 */
export function pubMapName(family: Fam, kind: PubKind, part: PubPart): string {
  return `pub${family}_${kind}_${part}`;
}

/** The reference to ctnet's table that every chain, set, rule and element carries. */
export function tableRef(): { family: typeof FAMILY; table: string } {
  return { family: FAMILY, table: CTNET_TABLE };
}

/** A chain of ctnet's table, by name. */
export function chainRef(name: string): NftChain {
  return { ...tableRef(), name };
}

/** The nft type of an address of family `f`. */
export function addrType(f: Fam): 'ipv4_addr' | 'ipv6_addr' {
  return f === 4 ? 'ipv4_addr' : 'ipv6_addr';
}

/** The source or destination address of an IPv4 or IPv6 packet. */
export function addrField(f: Fam, field: 'saddr' | 'daddr'): NftPayload {
  return { payload: { protocol: f === 4 ? 'ip' : 'ip6', field } };
}

/** `left op right`, for an address against a prefix or a set. */
export function match(
  op: '==' | '!=',
  left: ReturnType<typeof addrField>,
  right: NftPrefix | NftSetRef,
): NftStatement {
  return { match: { op, left, right } };
}

/** `add rule` to `chain` of ctnet's table, with `comment` as its owner. */
export function addRule(chain: string, comment: string, expr: NftStatement[]): NftCommand {
  const rule: NftRule = { ...tableRef(), chain, comment, expr };
  return { add: { rule } };
}

/** `add element` to set or map `name` of ctnet's table. */
export function addElements(name: string, elem: NftSetElem[] | NftMapElem[]): NftCommand {
  return { add: { element: { ...tableRef(), name, elem } } };
}

/** One `delete element` per set, with the keys as the listing showed them, in the order first seen. */
export function deleteElements(elements: ListedElement[]): NftCommand[] {
  const bySet = new Map<string, NftElemKey[]>();
  for (const e of elements) {
    const keys = bySet.get(e.set) ?? [];
    keys.push(e.key);
    bySet.set(e.set, keys);
  }
  return [...bySet].map(([name, keys]): NftCommand => ({ delete: { element: { ...tableRef(), name, elem: keys } } }));
}

/** The packet's connection was DNATed: published ports, ctnet's or another plugin's. */
export function ctStatusDnat(): NftStatement {
  return { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } };
}
