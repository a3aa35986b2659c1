/**
 * The nftables firewall driver. ctnet owns one table, `inet ctnet`, and never touches any other.
 *
 * Layout (per network, nothing per container, so no rule handles are ever needed):
 * ```
 * table inet ctnet {
 *   map fwd_in4  { type ipv4_addr : verdict; flags interval; }  # dst subnet → jump n-<id>-in
 *   map fwd_out4 { ... }                                        # src subnet → jump n-<id>-out
 *   map nat4     { ... }                                        # src subnet → jump n-<id>-nat
 *   set subnets4 { type ipv4_addr; flags interval; }            # every ctnet subnet
 *   (and the same four with 6 for IPv6)
 *   chain forward     { type filter hook forward priority filter; policy accept;
 *                       ip daddr vmap @fwd_in4; ip6 daddr vmap @fwd_in6
 *                       ip saddr vmap @fwd_out4; ip6 saddr vmap @fwd_out6 }
 *   chain postrouting { type nat hook postrouting priority srcnat; policy accept;
 *                       ip saddr vmap @nat4; ip6 saddr vmap @nat6 }
 *   chain n-<id>-in / n-<id>-out / n-<id>-nat { the network's own rules }
 * }
 * ```
 * The maps make a packet's cost independent of the number of networks: one lookup per direction.
 * Every rule and element carries the comment `ctnet net <id>`, so the table itself says who owns what.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { NftError, isNotFound, wrapError } from '../../errors.js';
import type { FirewallDriver, FirewallNetwork } from '../driver.js';
import { ExecNftRunner, type NftRunner } from './runner.js';
import type {
  NftChain,
  NftCommand,
  NftElemKey,
  NftMapElem,
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
const BASE_CHAINS: readonly string[] = [BASE_FORWARD, BASE_POSTROUTING];
// Base chains are ctnet's own, not a network's; their rules are tagged with this owner.
const BASE_OWNER = 'ctnet base';
// Longer ids would make chain names and comments needlessly long; nft caps comments at 128 bytes.
const MAX_ID_LENGTH = 64;
// A teardown reads the table, then deletes what it saw. If another ctnet process deletes some of
// it in between, the transaction fails with ENOENT and the fresh listing shows what is left.
const TEARDOWN_ATTEMPTS = 3;

type Fam = 4 | 6;

/** The names of a network's chains. */
export interface NetworkChains {
  /** Packets whose destination is in the network. */
  in: string;
  /** Packets whose source is in the network. */
  out: string;
  /** Source NAT for packets leaving the network (mode `nat` only). */
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
  const own = net.mode === 'nat' ? [chains.in, chains.out, chains.nat] : [chains.in, chains.out];
  const families = ([4, 6] as const).filter((f) => subnets.some((s) => s.family === f));

  const cmds: NftCommand[] = [{ add: { table: { family: FAMILY, name: CTNET_TABLE } } }];
  cmds.push(
    { add: { chain: baseChain(BASE_FORWARD, 'filter', 0) } },
    { add: { chain: baseChain(BASE_POSTROUTING, 'nat', 100) } },
  );
  for (const name of own) cmds.push({ add: { chain: chainRef(name) } });
  for (const name of own) cmds.push({ flush: { chain: chainRef(name) } });
  for (const f of [4, 6] as const) {
    for (const name of [`fwd_in${f}`, `fwd_out${f}`, `nat${f}`]) {
      cmds.push({ add: { map: { ...tableRef(), name, type: addrType(f), map: 'verdict', flags: ['interval'] } } });
    }
  }
  for (const f of [4, 6] as const) {
    cmds.push({ add: { set: { ...tableRef(), name: `subnets${f}`, type: addrType(f), flags: ['interval'] } } });
  }

  cmds.push({ flush: { chain: chainRef(BASE_FORWARD) } });
  for (const [dir, map] of [['daddr', 'fwd_in'], ['saddr', 'fwd_out']] as const) {
    for (const f of [4, 6] as const) {
      cmds.push(addRule(BASE_FORWARD, BASE_OWNER, [{ vmap: { key: addrField(f, dir), data: `@${map}${f}` } }]));
    }
  }
  cmds.push({ flush: { chain: chainRef(BASE_POSTROUTING) } });
  for (const f of [4, 6] as const) {
    cmds.push(addRule(BASE_POSTROUTING, BASE_OWNER, [{ vmap: { key: addrField(f, 'saddr'), data: `@nat${f}` } }]));
  }

  // In-chain: the packet's destination is in this network.
  for (const s of subnets) {
    // Traffic between two containers of the network only passes here when br_netfilter is loaded.
    cmds.push(addRule(chains.in, owner, [match('==', addrField(s.family, 'saddr'), prefix(s)), { accept: null }]));
  }
  for (const f of families) {
    // Isolation: no other ctnet network reaches this one through the host.
    const set: NftSetRef = `@subnets${f}`;
    cmds.push(addRule(chains.in, owner, [match('==', addrField(f, 'saddr'), set), { drop: null }]));
  }
  for (const expr of inboundPolicy(net.mode)) cmds.push(addRule(chains.in, owner, expr));

  // Out-chain: the packet's source is in this network and its destination is in none of ctnet's.
  cmds.push(addRule(chains.out, owner, [net.mode === 'internal' ? { drop: null } : { accept: null }]));

  if (net.mode === 'nat') {
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
    if (net.mode === 'nat') cmds.push(addElements(`nat${f}`, toChain(chains.nat)));
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
        // Published ports, ours or another plugin's (the reference portmap), arrive DNATed.
        [{ match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } }, { accept: null }],
        [{ drop: null }],
      ];
  }
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
 * that jumps to one of its chains), then its chains. When no other network is left, it deletes the
 * whole table instead, so an idle host has no ctnet table. Nothing to remove gives `[]`.
 *
 * @throws {TypeError} if the id is not hex.
 * @example
 * ```ts
 * const cmds = buildNetworkTeardown(net, readTableState(listing));
 * if (cmds.length > 0) await runner.run(cmds);
 * ```
 */
export function buildNetworkTeardown(net: FirewallNetwork, existing: CtnetTableState | undefined): NftCommand[] {
  validateId(net);
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

  const cmds: NftCommand[] = [];
  const bySet = new Map<string, NftElemKey[]>();
  for (const e of ownElements) {
    const keys = bySet.get(e.set) ?? [];
    keys.push(e.key);
    bySet.set(e.set, keys);
  }
  // Elements first: a chain that a map element still jumps to cannot be deleted (EBUSY).
  for (const [name, keys] of bySet) cmds.push({ delete: { element: { ...tableRef(), name, elem: keys } } });
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
    validateId(net);
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

function validateId(net: FirewallNetwork): void {
  if (!/^[0-9a-f]+$/.test(net.id) || net.id.length > MAX_ID_LENGTH) {
    throw new TypeError(
      `Invalid id "${net.id}" for network "${net.name}": expected 1 to ${MAX_ID_LENGTH} lower-case hex digits`,
    );
  }
}

function validateNetwork(net: FirewallNetwork): ParsedSubnet[] {
  validateId(net);
  return net.subnets.map((s) => {
    const parsed = parseCidr(s.cidr);
    if (parsed === undefined || parsed.family !== s.family) {
      throw new TypeError(`Invalid subnet "${s.cidr}" for network "${net.name}": expected IPv${s.family} CIDR text`);
    }
    return parsed;
  });
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

function baseChain(name: string, type: 'filter' | 'nat', prio: number): NftChain {
  const hook = name === BASE_FORWARD ? 'forward' : 'postrouting';
  return { ...tableRef(), name, type, hook, prio, policy: 'accept' };
}

function addrType(f: Fam): 'ipv4_addr' | 'ipv6_addr' {
  return f === 4 ? 'ipv4_addr' : 'ipv6_addr';
}

function addrField(f: Fam, field: 'saddr' | 'daddr'): { payload: { protocol: 'ip' | 'ip6'; field: string } } {
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

function inOurTable(obj: Record<string, unknown>): boolean {
  return obj['family'] === FAMILY && obj['table'] === CTNET_TABLE;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isElemKey(v: unknown): v is NftElemKey {
  if (typeof v === 'string') return true;
  if (!isRecord(v)) return false;
  const p = v['prefix'];
  if (isRecord(p)) return typeof p['addr'] === 'string' && typeof p['len'] === 'number';
  const r = v['range'];
  return Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'string');
}

function badListing(detail: string): NftError {
  return new NftError(`cannot read "nft -j list table ${FAMILY} ${CTNET_TABLE}": ${detail}`, { stderr: '' });
}
