/**
 * The rules of one network: the batch that installs its chains, rules and map and set elements,
 * and the batch that removes them again (or the whole table, with the last network).
 * @module
 */
import type { FirewallNetwork, FirewallOwners } from '../driver.js';
import { baseHead, baseShared } from './base-rules.js';
import { endpointComment } from './port-rules.js';
import type { NftCommand, NftMapElem, NftPrefix, NftSetElem, NftSetRef, NftStatement } from './schema.js';
import type { CtnetTableState, ListedElement } from './table-state.js';
import {
  BASE_CHAINS,
  CTNET_TABLE,
  FAMILIES,
  FAMILY,
  addElements,
  addRule,
  addrField,
  chainRef,
  ctStatusDnat,
  deleteElements,
  match,
} from './table.js';
import { validateHexId, validateNetwork, validateNetworkId, type ParsedSubnet } from './validate.js';

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
 * @throws {TypeError} if the id is not hex or a subnet is not one of its family.
 * @example
 * ```ts
 * const cmds = buildNetworkSetup({ id: 'abc123', name: 'net1', mode: 'nat',
 *   subnets: [parseCidr('10.68.0.0/24')] });
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
  return buildOwnersTeardown({ networks: [net.id], endpoints: [] }, existing);
}

/**
 * The networks and endpoints that own something in the table: a network by its chains
 * (`n-<id>-*`) and by its owner comment on rules and elements, an endpoint by the comment on its
 * published-port elements. Sorted, each once.
 *
 * @example
 * ```ts
 * tableOwners(readTableState(listing)); // { networks: ['a1b2c3'], endpoints: ['e1'] }
 * ```
 */
export function tableOwners(existing: CtnetTableState): FirewallOwners {
  const networks = new Set<string>();
  const endpoints = new Set<string>();
  for (const c of existing.chains) {
    const id = NETWORK_CHAIN.exec(c)?.[1];
    if (id !== undefined) networks.add(id);
  }
  for (const { comment } of [...existing.rules, ...existing.elements]) {
    const net = comment?.startsWith(NET_COMMENT) === true ? comment.slice(NET_COMMENT.length) : undefined;
    const ep = comment?.startsWith(EP_COMMENT) === true ? comment.slice(EP_COMMENT.length) : undefined;
    if (net !== undefined && HEX_ID.test(net)) networks.add(net);
    if (ep !== undefined && HEX_ID.test(ep)) endpoints.add(ep);
  }
  return { networks: [...networks].sort(), endpoints: [...endpoints].sort() };
}

/**
 * The commands that remove what `owners` have in the table (`undefined`: no table): each network's
 * elements (by owner comment, or by a verdict that jumps to one of its chains) and chains, each
 * endpoint's published-port elements. When nothing else is left (no other network's chain or
 * element, no published port of another endpoint), it deletes the whole table instead, so an idle
 * host has no ctnet table. Nothing to remove gives `[]`.
 *
 * @throws {TypeError} if an id is not hex.
 * @example
 * ```ts
 * const cmds = buildOwnersTeardown({ networks: ['a1b2c3'], endpoints: ['e1'] }, readTableState(listing));
 * if (cmds.length > 0) await runner.run(cmds);
 * ```
 */
export function buildOwnersTeardown(owners: FirewallOwners, existing: CtnetTableState | undefined): NftCommand[] {
  for (const id of owners.networks) validateHexId(id, `network "${id}"`);
  for (const id of owners.endpoints) validateHexId(id, `endpoint "${id}"`);
  if (existing === undefined) return [];
  const ownPrefixes = owners.networks.map((id) => `n-${id}-`);
  const comments = new Set([...owners.networks.map(ownerComment), ...owners.endpoints.map(endpointComment)]);
  const isOwnChain = (name: string): boolean => ownPrefixes.some((p) => name.startsWith(p));
  const ownChains = existing.chains.filter(isOwnChain);
  const isOwnElement = (e: ListedElement): boolean =>
    (e.comment !== undefined && comments.has(e.comment)) || (e.target !== undefined && isOwnChain(e.target));
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

const NETWORK_CHAIN = /^n-([0-9a-f]+)-(?:in|out|nat)$/;
const HEX_ID = /^[0-9a-f]+$/;
const NET_COMMENT = ownerComment('');
const EP_COMMENT = endpointComment('');

function prefix(s: ParsedSubnet): NftPrefix {
  return { prefix: { addr: s.addr, len: s.len } };
}
