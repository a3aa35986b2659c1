/**
 * Reads what `nft -j list table inet ctnet` shows: the chains, sets and maps, the owner of each
 * rule, and the set and map elements with their keys, owner comments and verdict targets or data.
 * A teardown deletes from it; a check compares it with what a setup makes.
 * @module
 */
import { NftError } from '../../errors.js';
import type { NftElemKey } from './schema.js';
import { CTNET_TABLE, FAMILY } from './table.js';

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
  /** For data-map elements: the value (`'10.68.0.2'`, `80`). */
  value?: string | number;
}

/** One rule as `nft -j list` shows it: its chain and owner comment (its expressions are not read). */
export interface ListedRule {
  chain: string;
  comment?: string;
}

/** What `nft -j list table inet ctnet` showed. */
export interface CtnetTableState {
  chains: string[];
  /** The names of the sets and maps. */
  sets: string[];
  rules: ListedRule[];
  elements: ListedElement[];
}

/**
 * Reads the output of `nft -j list table inet ctnet`.
 *
 * @throws {NftError} if the document is not a libnftables listing.
 * @example
 * ```ts
 * const state = readTableState(await runner.list(['table', 'inet', 'ctnet']));
 * state.chains; // ['forward', 'postrouting', 'prerouting', 'output', 'n-abc123-in', ...]
 * state.sets;   // ['fwd_in4', 'fwd_out4', 'nat4', ...]
 * ```
 */
export function readTableState(listing: unknown): CtnetTableState {
  const items = isRecord(listing) ? listing['nftables'] : undefined;
  if (!Array.isArray(items)) throw badListing('no "nftables" array');
  const state: CtnetTableState = { chains: [], sets: [], rules: [], elements: [] };
  for (const item of items) {
    if (!isRecord(item)) continue;
    const chain = item['chain'];
    if (isRecord(chain) && inOurTable(chain)) {
      if (typeof chain['name'] !== 'string') throw badListing('a chain without a name');
      state.chains.push(chain['name']);
    }
    const rule = item['rule'];
    if (isRecord(rule) && inOurTable(rule)) {
      if (typeof rule['chain'] !== 'string') throw badListing('a rule without a chain');
      const comment = rule['comment'];
      state.rules.push({ chain: rule['chain'], ...(typeof comment === 'string' ? { comment } : {}) });
    }
    const set = item['set'] ?? item['map'];
    if (isRecord(set) && inOurTable(set)) {
      const name = set['name'];
      if (typeof name !== 'string') throw badListing('a set without a name');
      state.sets.push(name);
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
  let value: string | number | undefined;
  if (Array.isArray(raw)) {
    // A map element: [key, verdict] or [key, value].
    if (raw.length !== 2) throw badListing(`map "${set}" has a malformed element`);
    const data: unknown = raw[1];
    keyPart = raw[0];
    if (typeof data === 'string' || typeof data === 'number') value = data;
    else target = verdictTarget(data);
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
    ...(value === undefined ? {} : { value }),
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
