/**
 * Types for the part of the libnftables JSON schema (`man libnftables-json`, schema version 1 as
 * spoken by nft 1.0.6) that ctnet writes and reads back. The shapes mirror what `nft -j list` prints,
 * so a batch ctnet builds and the listing nft returns can be compared field by field.
 *
 * Only what ctnet uses is modelled; widening a union here is the way to teach ctnet a new statement.
 * @module
 */

/** Address families ctnet creates tables in. ctnet uses `inet` so one table serves IPv4 and IPv6. */
export type NftFamily = 'inet' | 'ip' | 'ip6';

/** `add table inet ctnet`. */
export interface NftTable {
  family: NftFamily;
  name: string;
}

/** The netfilter hooks ctnet attaches base chains to. */
export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/**
 * A chain. A base chain has `type`, `hook`, `prio` and `policy`; a regular chain (a jump target)
 * has none of them. For `delete` and `flush` only `family`, `table` and `name` matter.
 */
export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  type?: 'filter' | 'nat' | 'route';
  hook?: NftHook;
  /** Numeric priority: `filter` is 0, `srcnat` is 100, `dstnat` is -100. */
  prio?: number;
  policy?: 'accept' | 'drop';
}

/** Key types ctnet stores in sets and maps. */
export type NftSetKeyType = 'ipv4_addr' | 'ipv6_addr' | 'inet_service' | 'inet_proto';

/**
 * A named set, e.g. `set subnets4 { type ipv4_addr; flags interval; }`. A concatenated key type
 * (`inet_proto . inet_service`) is a list: `['inet_proto', 'inet_service']`.
 */
export interface NftSet {
  family: NftFamily;
  table: string;
  name: string;
  type: NftSetKeyType | NftSetKeyType[];
  flags?: NftSetFlag[];
}

/** Set flags ctnet uses. `interval` lets a set hold prefixes such as `10.68.0.0/24`. */
export type NftSetFlag = 'interval' | 'constant' | 'timeout';

/**
 * A named map: a verdict map (`type ipv4_addr : verdict`) or a data map
 * (`type inet_proto . inet_service : ipv4_addr`).
 *
 * The data type is always a single type: nft 1.0.6 cannot create a map with concatenated data
 * (`: ipv4_addr . inet_service`) from JSON. It takes `map` as one type name only, answers "Invalid
 * map type" for the text form and ignores a list (the "map" then becomes a plain set). Support came
 * with nft 1.1.0 ("json: Support maps with concatenated data").
 */
export interface NftMap extends NftSet {
  map: 'verdict' | 'ipv4_addr' | 'ipv6_addr' | 'inet_service';
}

/** `10.68.0.0/24` as an expression. */
export interface NftPrefix {
  prefix: { addr: string; len: number };
}

/** `10.68.0.10-10.68.0.20`; nft prints interval elements that are not a prefix this way. */
export interface NftRange {
  range: [string, string];
}

/** A concatenation of values, as a set or map key: `tcp . 8080` → `{ concat: ['tcp', 8080] }`. */
export interface NftConcatValue {
  concat: NftImmediate[];
}

/** A reference to a named set or map: `@subnets4`. */
export type NftSetRef = `@${string}`;

/** A packet header field, e.g. `ip saddr` → `{ payload: { protocol: 'ip', field: 'saddr' } }`. */
export interface NftPayload {
  payload: { protocol: 'ip' | 'ip6' | 'tcp' | 'udp' | 'th'; field: string };
}

/** A conntrack key, e.g. `ct state`. */
export interface NftCt {
  ct: { key: 'state' | 'status' };
}

/** A meta key: `meta l4proto` (the transport protocol), `meta nfproto` (`ipv4`, `ipv6`). */
export interface NftMeta {
  meta: { key: 'l4proto' | 'nfproto' };
}

/** `fib daddr type`: the route type of the destination address (`local` for the host's own). */
export interface NftFib {
  fib: { result: 'type'; flags: ('daddr' | 'saddr' | 'iif' | 'oif')[] };
}

/** A concatenation of packet fields, as a lookup key: `ip daddr . meta l4proto . th dport`. */
export interface NftConcatExpr {
  concat: (NftPayload | NftMeta)[];
}

/** `KEY map @name`: look the key up in a data map; the rule stops here when it is not found. */
export interface NftMapLookup {
  map: { key: NftPayload | NftMeta | NftConcatExpr; data: NftSetRef };
}

/** A plain address or keyword (`"10.68.0.1"`, `"dnat"`) is a JSON string. */
export type NftImmediate = string | number;

/**
 * Anything on the right-hand side of a comparison: a value, a prefix, a range, a set reference
 * (`@name`, an {@link NftSetRef}, which is a string too), or a flag set (`established,related`).
 */
export type NftRhs = NftImmediate | NftPrefix | NftRange | string[];

/** `ip saddr 10.68.0.0/24`, `ip daddr != 10.68.0.0/24`, `ct state established,related`. */
export interface NftMatch {
  match: { op: '==' | '!=' | 'in'; left: NftPayload | NftCt | NftMeta | NftFib; right: NftRhs };
}

/** `ip daddr vmap @fwd_in4`: look the key up in a verdict map and apply the verdict found. */
export interface NftVmap {
  vmap: { key: NftPayload; data: NftSetRef };
}

/** A terminal or jump verdict. */
export type NftVerdict =
  | { accept: null }
  | { drop: null }
  | { return: null }
  | { jump: { target: string } }
  | { goto: { target: string } };

/** `masquerade`: source NAT to the address of the outgoing interface. */
export interface NftMasquerade {
  masquerade: null;
}

/**
 * `dnat ip to ADDR : PORT`. In an `inet` table `family` says which packets it applies to; the kernel
 * skips the statement for the other family. ctnet looks both up in maps.
 */
export interface NftDnat {
  dnat: { family: 'ip' | 'ip6'; addr: string | NftMapLookup; port?: number | NftMapLookup };
}

/** `counter`; handy when debugging a rule by hand, listed here so listings parse. */
export interface NftCounter {
  counter: { packets: number; bytes: number } | null;
}

/** One statement of a rule. */
export type NftStatement = NftMatch | NftVmap | NftVerdict | NftMasquerade | NftDnat | NftCounter;

/** A rule; `comment` names its owner (`ctnet net <id>`). `handle` only appears in listings. */
export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  expr: NftStatement[];
  comment?: string;
  handle?: number;
}

/** A rule by its handle, for `delete rule FAMILY TABLE CHAIN handle N`. */
export interface NftRuleRef {
  family: NftFamily;
  table: string;
  chain: string;
  handle: number;
}

/** The key of a set or map element. */
export type NftElemKey = string | NftPrefix | NftRange | NftConcatValue;

/** An element key with per-element options; ctnet uses the comment to record the owner. */
export interface NftElemWithOptions {
  elem: { val: NftElemKey; comment?: string };
}

/** One element of a set: a bare key, or a key with a comment. */
export type NftSetElem = NftElemKey | NftElemWithOptions;

/** One element of a map: `[key, verdict]` or `[key, value]` (`"10.68.0.2"`, `80`). */
export type NftMapElem = [NftSetElem, NftVerdict | NftImmediate];

/**
 * `add element inet ctnet subnets4 { 10.68.0.0/24 }` or, for a map,
 * `{ 10.68.0.0/24 : jump n-…-in }`. `delete element` takes the keys only.
 */
export interface NftElement {
  family: NftFamily;
  table: string;
  name: string;
  elem: NftSetElem[] | NftMapElem[];
}

/** The objects a command can act on. */
export type NftObject =
  | { table: NftTable }
  | { chain: NftChain }
  | { set: NftSet }
  | { map: NftMap }
  | { rule: NftRule }
  | { element: NftElement };

/**
 * One command of a batch. `add` is idempotent for tables, chains, sets and identical elements;
 * `insert` puts a rule at the top of its chain; `delete` fails with ENOENT when the object is
 * missing (a rule is deleted by handle); `flush` empties a chain, set or map.
 * (nft 1.0.6 has no `destroy` in its JSON parser: it answers "Unknown object passed to add
 * command", which is why ctnet reads the table before it deletes anything.)
 */
export type NftCommand =
  | { add: NftObject }
  | { insert: { rule: NftRule } }
  | { delete: NftObject | { rule: NftRuleRef } }
  | { flush: NftObject };

/** The document `nft -j -f FILE` reads: one batch, applied as one kernel transaction. */
export interface NftBatch {
  nftables: NftCommand[];
}
