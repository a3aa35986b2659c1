/**
 * The nftables firewall driver. ctnet owns one table, `inet ctnet`, and never touches any other.
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
import { isIPv4, isIPv6 } from 'node:net';
import { NftError, isNotFound, wrapError } from '../../errors.js';
import type { FirewallDriver, FirewallEndpoint, FirewallNetwork, PortMapping } from '../driver.js';
import { ExecNftRunner, type NftRunner } from './runner.js';
import type {
  NftChain,
  NftCommand,
  NftConcatExpr,
  NftConcatValue,
  NftElemKey,
  NftHook,
  NftMapElem,
  NftMapLookup,
  NftPayload,
  NftPrefix,
  NftRule,
  NftSetElem,
  NftSetRef,
  NftStatement,
} from './schema.js';

/** The table ctnet owns (family `inet`). */
export const CTNET_TABLE = 'ctnet';

const FAMILY = 'inet';
const BASE_FORWARD = 'forward';
const BASE_POSTROUTING = 'postrouting';
const BASE_PREROUTING = 'prerouting';
const BASE_OUTPUT = 'output';
const BASE_CHAINS: readonly string[] = [BASE_FORWARD, BASE_POSTROUTING, BASE_PREROUTING, BASE_OUTPUT];
// Netfilter priorities by their nft names: filter 0, dstnat -100, srcnat 100.
const PRIO_FILTER = 0;
const PRIO_DSTNAT = -100;
const PRIO_SRCNAT = 100;
// Base chains are ctnet's own, not a network's; their rules are tagged with this owner.
const BASE_OWNER = 'ctnet base';
// Longer ids would make chain names and comments needlessly long; nft caps comments at 128 bytes.
const MAX_ID_LENGTH = 64;
// A teardown reads the table, then deletes what it saw. If another ctnet process deletes some of
// it in between, the transaction fails with ENOENT and the fresh listing shows what is left.
const TEARDOWN_ATTEMPTS = 3;

type Fam = 4 | 6;
const FAMILIES = [4, 6] as const;

/** Published ports on one host address (`ip`) or on every local address (`any`). */
type PubKind = 'ip' | 'any';
/** The two maps of a kind: the DNAT address and the DNAT port, under the same keys. */
type PubPart = 'addr' | 'port';
const PUB_KINDS: readonly PubKind[] = ['ip', 'any'];
const PUB_PARTS: readonly PubPart[] = ['addr', 'port'];

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

const PUB_MAPS: readonly string[] = FAMILIES.flatMap((f) =>
  PUB_KINDS.flatMap((k) => PUB_PARTS.map((p) => pubMapName(f, k, p))),
);

/** The names of a network's chains. */
export interface NetworkChains {
  /** Packets whose destination is in the network. */
  in: string;
  /** Packets whose source is in the network. */
  out: string;
  /** Source NAT for packets from the network: masquerade (mode `nat`) and hairpin (`nat`, `routed`). */
  nat: string;
}

/**
 * The chains of network `id`: `n-<id>-in`, `n-<id>-out`, `n-<id>-nat`.
 *
 * @example
 * ```ts
 * networkChains('abc123').in; // 'n-abc123-in'
 * ```
 */
export function networkChains(id: string): NetworkChains {
  return { in: `n-${id}-in`, out: `n-${id}-out`, nat: `n-${id}-nat` };
}

/**
 * The owner comment on every rule and element of network `id`.
 *
 * @example
 * ```ts
 * ownerComment('abc123'); // 'ctnet net abc123'
 * ```
 */
export function ownerComment(id: string): string {
  return `ctnet net ${id}`;
}

/**
 * The owner comment on every published-port element of endpoint `id`.
 *
 * @example
 * ```ts
 * endpointComment('0f1e2d'); // 'ctnet ep 0f1e2d'
 * ```
 */
export function endpointComment(id: string): string {
  return `ctnet ep ${id}`;
}

interface ParsedSubnet {
  family: Fam;
  addr: string;
  len: number;
}

/**
 * The commands that install network `net`, as one batch:
 * table, base chains, the network's chains (flushed, so running setup twice replaces rather than
 * duplicates), shared maps and sets, base rules (flushed and re-added, which also repairs them),
 * the network's rules, and its map and set elements.
 *
 * The in-chain accepts DNATed connections (published ports, ours or the reference portmap's) before
 * the isolation rule, so containers of other ctnet networks reach published ports and nothing else.
 * The nat-chain masquerades hairpin connections (source and DNATed destination both in the network),
 * because the reply would otherwise go straight back over the bridge with the wrong source. (When
 * br_netfilter is loaded, DNAT happens while the frame is bridged, and a container reaching its own
 * published port also needs hairpin mode on its bridge port: the network layer's job.)
 *
 * Chains come before the maps on purpose: nft 1.0.6 fails with ENOENT when a batch creates a
 * verdict map and then adds an element jumping to a chain that the same batch declared after the map.
 *
 * @throws {TypeError} if the id is not hex or a subnet is not CIDR text of its family.
 * @example
 * ```ts
 * const cmds = buildNetworkSetup({ id: 'abc123', name: 'net1', mode: 'nat',
 *   subnets: [{ cidr: '10.68.0.0/24', family: 4 }] });
 * await runner.run(cmds);
 * ```
 */
export function buildNetworkSetup(net: FirewallNetwork): NftCommand[] {
  const subnets = validateNetwork(net);
  const chains = networkChains(net.id);
  const owner = ownerComment(net.id);
  const hasNat = net.mode !== 'internal';
  const own = hasNat ? [chains.in, chains.out, chains.nat] : [chains.in, chains.out];
  const families = FAMILIES.filter((f) => subnets.some((s) => s.family === f));

  const cmds: NftCommand[] = baseHead();
  for (const name of own) cmds.push({ add: { chain: chainRef(name) } });
  for (const name of own) cmds.push({ flush: { chain: chainRef(name) } });
  cmds.push(...baseShared());

  // In-chain: the packet's destination is in this network.
  for (const s of subnets) {
    // Traffic between two containers of the network only passes here when br_netfilter is loaded,
    // or when the host forwards it: a hairpin connection to a published port.
    cmds.push(addRule(chains.in, owner, [match('==', addrField(s.family, 'saddr'), prefix(s)), { accept: null }]));
  }
  if (hasNat) {
    // Published ports, ours or another plugin's (the reference portmap), arrive DNATed; before the
    // isolation rule so that other ctnet networks reach them. Internal networks publish nothing.
    cmds.push(addRule(chains.in, owner, [ctStatusDnat(), { accept: null }]));
  }
  for (const f of families) {
    // Isolation: no other ctnet network reaches this one through the host.
    const set: NftSetRef = `@subnets${f}`;
    cmds.push(addRule(chains.in, owner, [match('==', addrField(f, 'saddr'), set), { drop: null }]));
  }
  for (const expr of inboundPolicy(net.mode)) cmds.push(addRule(chains.in, owner, expr));

  // Out-chain: the packet's source is in this network and its destination is in none of ctnet's.
  cmds.push(addRule(chains.out, owner, [net.mode === 'internal' ? { drop: null } : { accept: null }]));

  // Nat-chain: the packet's source is in this network.
  if (hasNat) {
    for (const s of subnets) {
      // Hairpin: a container reached a published port of its own network through a host address.
      const rule: NftStatement[] = [match('==', addrField(s.family, 'daddr'), prefix(s)), ctStatusDnat(), { masquerade: null }];
      cmds.push(addRule(chains.nat, owner, rule));
    }
  }
  if (net.mode === 'nat') {
    for (const f of families) {
      // A published port of another ctnet network keeps the client's address: the reply comes back
      // through the host anyway, and the other network's in-chain accepts it as DNATed.
      const rule: NftStatement[] = [match('==', addrField(f, 'daddr'), `@subnets${f}`), ctStatusDnat(), { return: null }];
      cmds.push(addRule(chains.nat, owner, rule));
    }
    for (const s of subnets) {
      const rule: NftStatement[] = [match('!=', addrField(s.family, 'daddr'), prefix(s)), { masquerade: null }];
      cmds.push(addRule(chains.nat, owner, rule));
    }
  }

  for (const f of families) {
    const mine = subnets.filter((s) => s.family === f);
    const elem = (s: ParsedSubnet): NftSetElem => ({ elem: { val: prefix(s), comment: owner } });
    const toChain = (target: string): NftMapElem[] => mine.map((s) => [elem(s), { jump: { target } }]);
    cmds.push(addElements(`fwd_in${f}`, toChain(chains.in)));
    cmds.push(addElements(`fwd_out${f}`, toChain(chains.out)));
    if (hasNat) cmds.push(addElements(`nat${f}`, toChain(chains.nat)));
    cmds.push(addElements(`subnets${f}`, mine.map(elem)));
  }
  return cmds;
}

// What reaches a container from outside its network, after the isolation rules.
function inboundPolicy(mode: FirewallNetwork['mode']): NftStatement[][] {
  switch (mode) {
    case 'internal':
      return [[{ drop: null }]];
    case 'routed':
      return [[{ accept: null }]];
    case 'nat':
      return [
        [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }],
        [{ drop: null }],
      ];
  }
}

// The table and the base chains: first in every setup batch, before any network chain.
function baseHead(): NftCommand[] {
  return [
    { add: { table: { family: FAMILY, name: CTNET_TABLE } } },
    { add: { chain: baseChain(BASE_FORWARD, 'filter', PRIO_FILTER) } },
    { add: { chain: baseChain(BASE_POSTROUTING, 'nat', PRIO_SRCNAT) } },
    { add: { chain: baseChain(BASE_PREROUTING, 'nat', PRIO_DSTNAT) } },
    { add: { chain: baseChain(BASE_OUTPUT, 'nat', PRIO_DSTNAT) } },
  ];
}

// The shared maps and sets, and the base chains' rules (flushed and re-added, which repairs them).
function baseShared(): NftCommand[] {
  const cmds: NftCommand[] = [];
  for (const f of FAMILIES) {
    for (const name of [`fwd_in${f}`, `fwd_out${f}`, `nat${f}`]) {
      cmds.push({ add: { map: { ...tableRef(), name, type: addrType(f), map: 'verdict', flags: ['interval'] } } });
    }
  }
  for (const f of FAMILIES) {
    cmds.push({ add: { set: { ...tableRef(), name: `subnets${f}`, type: addrType(f), flags: ['interval'] } } });
  }
  for (const f of FAMILIES) {
    for (const kind of PUB_KINDS) {
      const type = kind === 'ip' ? [addrType(f), 'inet_proto' as const, 'inet_service' as const] : ['inet_proto' as const, 'inet_service' as const];
      cmds.push({ add: { map: { ...tableRef(), name: pubMapName(f, kind, 'addr'), type, map: addrType(f) } } });
      cmds.push({ add: { map: { ...tableRef(), name: pubMapName(f, kind, 'port'), type, map: 'inet_service' } } });
    }
  }

  cmds.push({ flush: { chain: chainRef(BASE_FORWARD) } });
  for (const [dir, map] of [['daddr', 'fwd_in'], ['saddr', 'fwd_out']] as const) {
    for (const f of FAMILIES) {
      cmds.push(addRule(BASE_FORWARD, BASE_OWNER, [{ vmap: { key: addrField(f, dir), data: `@${map}${f}` } }]));
    }
  }
  cmds.push({ flush: { chain: chainRef(BASE_POSTROUTING) } });
  for (const f of FAMILIES) {
    cmds.push(addRule(BASE_POSTROUTING, BASE_OWNER, [{ vmap: { key: addrField(f, 'saddr'), data: `@nat${f}` } }]));
  }
  // A host client on 127.0.0.1 reached a published port: the container could not answer a loopback
  // source. There is no IPv6 counterpart: the kernel never routes ::1 out of the host
  // (route_localnet is IPv4 only), so published ports are not reachable through [::1].
  const loopback: NftPrefix = { prefix: { addr: '127.0.0.0', len: 8 } };
  cmds.push(addRule(BASE_POSTROUTING, BASE_OWNER, [match('==', addrField(4, 'saddr'), loopback), ctStatusDnat(), { masquerade: null }]));
  // Packets from elsewhere (prerouting) and from the host itself (output) are published the same way.
  // The one-address maps come first, so that a port published on one address wins over the same
  // port published on every address, as a socket bound to that address would.
  for (const chain of [BASE_PREROUTING, BASE_OUTPUT]) {
    cmds.push({ flush: { chain: chainRef(chain) } });
    for (const f of FAMILIES) {
      for (const kind of PUB_KINDS) cmds.push(addRule(chain, BASE_OWNER, dnatRule(f, kind)));
    }
  }
  return cmds;
}

// The DNAT rule of one family and kind: the address from one map, the port from its twin.
function dnatRule(f: Fam, kind: PubKind): NftStatement[] {
  const dport: NftPayload = { payload: { protocol: 'th', field: 'dport' } };
  const key: NftConcatExpr = {
    concat: kind === 'ip' ? [addrField(f, 'daddr'), { meta: { key: 'l4proto' } }, dport] : [{ meta: { key: 'l4proto' } }, dport],
  };
  const lookup = (part: PubPart): NftMapLookup => ({ map: { key, data: `@${pubMapName(f, kind, part)}` } });
  const dnat: NftStatement = { dnat: { family: f === 4 ? 'ip' : 'ip6', addr: lookup('addr'), port: lookup('port') } };
  if (kind === 'ip') return [dnat]; // `ip daddr` already restricts the rule to its family.
  return [
    // Without it the lookup would also run for the other family (only the dnat itself is skipped).
    { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: f === 4 ? 'ipv4' : 'ipv6' } },
    // Any address of the host, not addresses the host merely forwards to.
    { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
    dnat,
  ];
}

function ctStatusDnat(): NftStatement {
  return { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } };
}

interface ParsedPort {
  mapping: PortMapping;
  kind: PubKind;
  key: NftConcatValue;
}

/**
 * The commands that publish endpoint `ep`'s ports, as one batch: the same table, base chains, maps
 * and base rules as a network setup (so it works on its own), then one `add element` per map with
 * every mapping. The elements carry the comment `ctnet ep <id>`. No ports give `[]`.
 *
 * @throws {TypeError} if an id is not hex, a port is out of range, an address is not of its
 *   mapping's family, or two mappings share a host address, protocol and port.
 * @example
 * ```ts
 * const cmds = buildPortsSetup({ id: 'e1', networkId: 'abc123', ports: [{ family: 4,
 *   protocol: 'tcp', hostPort: 8080, containerIp: '10.68.0.2', containerPort: 80 }] });
 * await runner.run(cmds);
 * ```
 */
export function buildPortsSetup(ep: FirewallEndpoint): NftCommand[] {
  const ports = validateEndpoint(ep);
  if (ports.length === 0) return [];
  const seen = new Set<string>();
  for (const p of ports) {
    const id = `${p.mapping.family} ${JSON.stringify(p.key)}`;
    if (seen.has(id)) {
      const host = p.mapping.hostIp ?? (p.mapping.family === 4 ? '0.0.0.0' : '[::]');
      throw new TypeError(`Invalid ports for endpoint "${ep.id}": ${host}:${p.mapping.hostPort}/${p.mapping.protocol} is published twice`);
    }
    seen.add(id);
  }
  const comment = endpointComment(ep.id);
  const cmds: NftCommand[] = [...baseHead(), ...baseShared()];
  for (const [f, kind, group] of groupPorts(ports)) {
    const elem = (p: ParsedPort): NftSetElem => ({ elem: { val: p.key, comment } });
    cmds.push(addElements(pubMapName(f, kind, 'addr'), group.map((p): NftMapElem => [elem(p), p.mapping.containerIp])));
    cmds.push(addElements(pubMapName(f, kind, 'port'), group.map((p): NftMapElem => [elem(p), p.mapping.containerPort])));
  }
  return cmds;
}

/**
 * The commands that unpublish endpoint `ep`'s ports: delete exactly their keys from both maps of
 * each kind. nft fails the whole batch with ENOENT when one of them is gone already; then
 * {@link buildPortsCleanup} works from what the table shows. No ports give `[]`.
 *
 * @throws {TypeError} as {@link buildPortsSetup}, except for mappings given twice (deleted once).
 * @example
 * ```ts
 * await runner.run(buildPortsTeardown(ep));
 * ```
 */
export function buildPortsTeardown(ep: FirewallEndpoint): NftCommand[] {
  const cmds: NftCommand[] = [];
  for (const [f, kind, group] of groupPorts(validateEndpoint(ep))) {
    const keys = [...new Map(group.map((p) => [JSON.stringify(p.key), p.key])).values()];
    for (const part of PUB_PARTS) {
      cmds.push({ delete: { element: { ...tableRef(), name: pubMapName(f, kind, part), elem: keys } } });
    }
  }
  return cmds;
}

/**
 * The commands that delete every published-port element of endpoint `ep` that the table holds
 * (`undefined`: no table), found by its comment. Nothing left gives `[]`.
 *
 * @throws {TypeError} if the endpoint id is not hex.
 * @example
 * ```ts
 * const cmds = buildPortsCleanup(ep, readTableState(listing));
 * if (cmds.length > 0) await runner.run(cmds);
 * ```
 */
export function buildPortsCleanup(ep: FirewallEndpoint, existing: CtnetTableState | undefined): NftCommand[] {
  validateHexId(ep.id, `endpoint "${ep.id}"`);
  if (existing === undefined) return [];
  const comment = endpointComment(ep.id);
  return deleteElements(existing.elements.filter((e) => e.comment === comment && PUB_MAPS.includes(e.set)));
}

// Mappings by family and kind, in a fixed order (4 ip, 4 any, 6 ip, 6 any), skipping empty groups.
function groupPorts(ports: ParsedPort[]): [Fam, PubKind, ParsedPort[]][] {
  const groups: [Fam, PubKind, ParsedPort[]][] = [];
  for (const f of FAMILIES) {
    for (const kind of PUB_KINDS) {
      const group = ports.filter((p) => p.mapping.family === f && p.kind === kind);
      if (group.length > 0) groups.push([f, kind, group]);
    }
  }
  return groups;
}

/** One set or map element as `nft -j list` shows it. */
export interface ListedElement {
  /** The set or map it belongs to. */
  set: string;
  /** Its key, as nft printed it (and as `delete element` wants it back). */
  key: NftElemKey;
  /** Its comment, the owner tag for elements ctnet made. */
  comment?: string;
  /** For verdict-map elements: the chain the verdict jumps (or goes) to. */
  target?: string;
}

/** What `nft -j list table inet ctnet` showed: the chains and the set and map elements. */
export interface CtnetTableState {
  chains: string[];
  elements: ListedElement[];
}

/**
 * Reads the output of `nft -j list table inet ctnet`.
 *
 * @throws {NftError} if the document is not a libnftables listing.
 * @example
 * ```ts
 * const state = readTableState(await runner.list(['table', 'inet', 'ctnet']));
 * state.chains; // ['n-abc123-in', 'n-abc123-out', 'forward', 'postrouting']
 * ```
 */
export function readTableState(listing: unknown): CtnetTableState {
  const items = isRecord(listing) ? listing['nftables'] : undefined;
  if (!Array.isArray(items)) throw badListing('no "nftables" array');
  const state: CtnetTableState = { chains: [], elements: [] };
  for (const item of items) {
    if (!isRecord(item)) continue;
    const chain = item['chain'];
    if (isRecord(chain) && inOurTable(chain)) {
      if (typeof chain['name'] !== 'string') throw badListing('a chain without a name');
      state.chains.push(chain['name']);
    }
    const set = item['set'] ?? item['map'];
    if (isRecord(set) && inOurTable(set)) {
      const name = set['name'];
      if (typeof name !== 'string') throw badListing('a set without a name');
      const elems = set['elem'];
      if (elems === undefined) continue;
      if (!Array.isArray(elems)) throw badListing(`set "${name}" has a malformed "elem"`);
      for (const e of elems) state.elements.push(readElement(name, e));
    }
  }
  return state;
}

function readElement(set: string, raw: unknown): ListedElement {
  let keyPart: unknown = raw;
  let target: string | undefined;
  if (Array.isArray(raw)) {
    // A map element: [key, verdict].
    if (raw.length !== 2) throw badListing(`map "${set}" has a malformed element`);
    keyPart = raw[0];
    target = verdictTarget(raw[1]);
  }
  let comment: string | undefined;
  let key: unknown = keyPart;
  if (isRecord(keyPart) && isRecord(keyPart['elem'])) {
    const options = keyPart['elem'];
    key = options['val'];
    if (typeof options['comment'] === 'string') comment = options['comment'];
  }
  if (!isElemKey(key)) throw badListing(`set "${set}" has an element with an unexpected key`);
  return {
    set,
    key,
    ...(comment === undefined ? {} : { comment }),
    ...(target === undefined ? {} : { target }),
  };
}

function verdictTarget(raw: unknown): string | undefined {
  if (!isRecord(raw)) return undefined;
  for (const kind of ['jump', 'goto']) {
    const v = raw[kind];
    if (isRecord(v) && typeof v['target'] === 'string') return v['target'];
  }
  return undefined;
}

/**
 * The commands that remove network `net`, given what the table holds (`undefined`: no table).
 * Deletes only what `existing` shows: the network's elements (by owner comment, or by a verdict
 * that jumps to one of its chains), then its chains. When nothing else is left (no other network's
 * chain or element, no published port of any endpoint), it deletes the whole table instead, so an
 * idle host has no ctnet table. Nothing to remove gives `[]`.
 *
 * @throws {TypeError} if the id is not hex.
 * @example
 * ```ts
 * const cmds = buildNetworkTeardown(net, readTableState(listing));
 * if (cmds.length > 0) await runner.run(cmds);
 * ```
 */
export function buildNetworkTeardown(net: FirewallNetwork, existing: CtnetTableState | undefined): NftCommand[] {
  validateNetworkId(net);
  if (existing === undefined) return [];
  const prefixOfOwn = `n-${net.id}-`;
  const owner = ownerComment(net.id);
  const isOwnChain = (name: string): boolean => name.startsWith(prefixOfOwn);
  const ownChains = existing.chains.filter(isOwnChain);
  const isOwnElement = (e: ListedElement): boolean =>
    e.comment === owner || (e.target !== undefined && isOwnChain(e.target));
  const ownElements = existing.elements.filter(isOwnElement);

  const othersLeft =
    existing.chains.some((c) => !isOwnChain(c) && !BASE_CHAINS.includes(c)) ||
    existing.elements.some((e) => !isOwnElement(e));
  if (!othersLeft) return [{ delete: { table: { family: FAMILY, name: CTNET_TABLE } } }];

  // Elements first: a chain that a map element still jumps to cannot be deleted (EBUSY).
  const cmds = deleteElements(ownElements);
  for (const name of ownChains) cmds.push({ flush: { chain: chainRef(name) } });
  for (const name of ownChains) cmds.push({ delete: { chain: chainRef(name) } });
  return cmds;
}

/**
 * The nftables firewall driver: per-network chains in the table `inet ctnet`, each change one
 * atomic `nft` transaction.
 *
 * @example
 * ```ts
 * const fw = new NftFirewallDriver();
 * const net = { id: 'abc123', name: 'net1', mode: 'nat', subnets: [{ cidr: '10.68.0.0/24', family: 4 }] } as const;
 * await fw.setupNetwork(net);
 * await fw.teardownNetwork(net);
 * ```
 */
export class NftFirewallDriver implements FirewallDriver {
  readonly name = 'nftables';
  readonly #runner: NftRunner;

  constructor(runner: NftRunner = new ExecNftRunner()) {
    this.#runner = runner;
  }

  /** Installs the network's chains, rules and elements in one transaction. */
  async setupNetwork(net: FirewallNetwork): Promise<void> {
    const cmds = buildNetworkSetup(net);
    try {
      await this.#runner.run(cmds);
    } catch (err) {
      throw wrapError(`set up firewall for network "${net.name}"`, err);
    }
  }

  /**
   * Reads the table, then removes what the network owns in one transaction (or the whole table
   * when it was the last network). A missing table or missing chains count as removed.
   */
  async teardownNetwork(net: FirewallNetwork): Promise<void> {
    validateNetworkId(net);
    for (let attempt = 1; ; attempt++) {
      try {
        const cmds = buildNetworkTeardown(net, await this.#readTable());
        if (cmds.length === 0) return;
        await this.#runner.run(cmds);
        return;
      } catch (err) {
        if (isNotFound(err) && attempt < TEARDOWN_ATTEMPTS) continue;
        throw wrapError(`tear down firewall for network "${net.name}"`, err);
      }
    }
  }

  /**
   * Publishes the endpoint's ports in one transaction, after making sure the table, base chains,
   * maps and base rules exist. A host port already published with another target fails with EEXIST.
   */
  async setupPorts(ep: FirewallEndpoint): Promise<void> {
    const cmds = buildPortsSetup(ep);
    if (cmds.length === 0) return;
    try {
      await this.#runner.run(cmds);
    } catch (err) {
      throw wrapError(`publish ports of endpoint "${ep.id}"`, err);
    }
  }

  /**
   * Deletes the endpoint's keys in one transaction. When something is gone already (ENOENT: the
   * table, a map or one element), it reads the table and deletes whatever still carries the
   * endpoint's comment; nothing left counts as done.
   */
  async teardownPorts(ep: FirewallEndpoint): Promise<void> {
    const context = `unpublish ports of endpoint "${ep.id}"`;
    const cmds = buildPortsTeardown(ep);
    if (cmds.length === 0) return;
    try {
      await this.#runner.run(cmds);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw wrapError(context, err);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const cleanup = buildPortsCleanup(ep, await this.#readTable());
        if (cleanup.length === 0) return;
        await this.#runner.run(cleanup);
        return;
      } catch (err) {
        if (isNotFound(err) && attempt < TEARDOWN_ATTEMPTS) continue;
        throw wrapError(context, err);
      }
    }
  }

  async #readTable(): Promise<CtnetTableState | undefined> {
    let listing: unknown;
    try {
      listing = await this.#runner.list(['table', FAMILY, CTNET_TABLE]);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return readTableState(listing);
  }
}

function validateHexId(id: string, owner: string): void {
  if (!/^[0-9a-f]+$/.test(id) || id.length > MAX_ID_LENGTH) {
    throw new TypeError(`Invalid id "${id}" for ${owner}: expected 1 to ${MAX_ID_LENGTH} lower-case hex digits`);
  }
}

function validateNetworkId(net: FirewallNetwork): void {
  validateHexId(net.id, `network "${net.name}"`);
}

function validateNetwork(net: FirewallNetwork): ParsedSubnet[] {
  validateNetworkId(net);
  return net.subnets.map((s) => {
    const parsed = parseCidr(s.cidr);
    if (parsed === undefined || parsed.family !== s.family) {
      throw new TypeError(`Invalid subnet "${s.cidr}" for network "${net.name}": expected IPv${s.family} CIDR text`);
    }
    return parsed;
  });
}

function validateEndpoint(ep: FirewallEndpoint): ParsedPort[] {
  validateHexId(ep.id, `endpoint "${ep.id}"`);
  validateHexId(ep.networkId, `the network of endpoint "${ep.id}"`);
  return ep.ports.map((p) => {
    const bad = (what: string): TypeError => new TypeError(`Invalid published port for endpoint "${ep.id}": ${what}`);
    if (p.family !== 4 && p.family !== 6) throw bad(`family ${String(p.family)}, expected 4 or 6`);
    if (p.protocol !== 'tcp' && p.protocol !== 'udp') throw bad(`protocol "${String(p.protocol)}", expected "tcp" or "udp"`);
    for (const [name, port] of [['host port', p.hostPort], ['container port', p.containerPort]] as const) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`${name} ${port}, expected 1 to 65535`);
    }
    if (!isAddressOf(p.family, p.containerIp)) throw bad(`container address "${p.containerIp}" is not IPv${p.family}`);
    if (p.hostIp !== undefined && !isAddressOf(p.family, p.hostIp)) throw bad(`host address "${p.hostIp}" is not IPv${p.family}`);
    const key: NftConcatValue =
      p.hostIp === undefined ? { concat: [p.protocol, p.hostPort] } : { concat: [p.hostIp, p.protocol, p.hostPort] };
    return { mapping: p, kind: p.hostIp === undefined ? 'any' : 'ip', key };
  });
}

// A plain address of the family; not a scoped IPv6 address (`fe80::1%eth0`), which nft cannot store.
function isAddressOf(family: Fam, text: string): boolean {
  return family === 4 ? isIPv4(text) : isIPv6(text) && !text.includes('%');
}

function parseCidr(cidr: string): ParsedSubnet | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const addr = cidr.slice(0, slash);
  const lenText = cidr.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (isIPv4(addr) && len <= 32) return { family: 4, addr, len };
  if (isIPv6(addr) && len <= 128) return { family: 6, addr, len };
  return undefined;
}

function tableRef(): { family: typeof FAMILY; table: string } {
  return { family: FAMILY, table: CTNET_TABLE };
}

function chainRef(name: string): NftChain {
  return { ...tableRef(), name };
}

// ctnet's base chains are named after their hooks.
function baseChain(name: string, type: 'filter' | 'nat', prio: number): NftChain {
  return { ...tableRef(), name, type, hook: name as NftHook, prio, policy: 'accept' };
}

function addrType(f: Fam): 'ipv4_addr' | 'ipv6_addr' {
  return f === 4 ? 'ipv4_addr' : 'ipv6_addr';
}

function addrField(f: Fam, field: 'saddr' | 'daddr'): NftPayload {
  return { payload: { protocol: f === 4 ? 'ip' : 'ip6', field } };
}

function prefix(s: ParsedSubnet): NftPrefix {
  return { prefix: { addr: s.addr, len: s.len } };
}

function match(
  op: '==' | '!=',
  left: ReturnType<typeof addrField>,
  right: NftPrefix | NftSetRef,
): NftStatement {
  return { match: { op, left, right } };
}

function addRule(chain: string, comment: string, expr: NftStatement[]): NftCommand {
  const rule: NftRule = { ...tableRef(), chain, comment, expr };
  return { add: { rule } };
}

function addElements(name: string, elem: NftSetElem[] | NftMapElem[]): NftCommand {
  return { add: { element: { ...tableRef(), name, elem } } };
}

// One `delete element` per set, with the keys as the listing showed them, in the order first seen.
function deleteElements(elements: ListedElement[]): NftCommand[] {
  const bySet = new Map<string, NftElemKey[]>();
  for (const e of elements) {
    const keys = bySet.get(e.set) ?? [];
    keys.push(e.key);
    bySet.set(e.set, keys);
  }
  return [...bySet].map(([name, keys]): NftCommand => ({ delete: { element: { ...tableRef(), name, elem: keys } } }));
}

function inOurTable(obj: Record<string, unknown>): boolean {
  return obj['family'] === FAMILY && obj['table'] === CTNET_TABLE;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isElemKey(v: unknown): v is NftElemKey {
  if (typeof v === 'string') return true;
  if (!isRecord(v)) return false;
  const c = v['concat'];
  if (Array.isArray(c)) return c.every((x) => typeof x === 'string' || typeof x === 'number');
  const p = v['prefix'];
  if (isRecord(p)) return typeof p['addr'] === 'string' && typeof p['len'] === 'number';
  const r = v['range'];
  return Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'string');
}

function badListing(detail: string): NftError {
  return new NftError(`cannot read "nft -j list table ${FAMILY} ${CTNET_TABLE}": ${detail}`, { stderr: '' });
}
