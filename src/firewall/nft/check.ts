/**
 * The check behind `checkNetwork` and `checkPorts`: what a setup batch makes that the table lacks.
 * The expectation is read off the very batch the setup applies, so the check and the setup cannot
 * drift apart: a table passes when applying the batch again would add nothing. Rules are counted by
 * chain and owner comment, not compared expression by expression: every setup flushes the chains
 * it fills, so a rule is only ever missing because someone deleted or flushed it.
 * @module
 */
import type { NftCommand, NftElemKey, NftMapElem, NftSetElem, NftVerdict } from './schema.js';
import type { CtnetTableState, ListedElement } from './table-state.js';
import { CTNET_TABLE, FAMILY } from './table.js';

const TABLE = `table ${FAMILY} ${CTNET_TABLE}`;

/**
 * One line per object of `expected` (a setup batch) that `existing` (the listing; `undefined`: no
 * table) lacks or holds differently: a missing table, chain, set or map, a chain with another
 * number of rules of an owner, a missing element, an element under the same key with other data
 * or another owner. Empty when nothing is missing.
 *
 * @example
 * ```ts
 * missingFromTable(buildNetworkSetup(net), readTableState(listing));
 * // ['chain "n-a1b2c3-in" is missing from table inet ctnet',
 * //  'element 10.99.1.0/24 : jump n-a1b2c3-in is missing from map "fwd_in4"']
 * missingFromTable(buildNetworkSetup(net), undefined); // ['table inet ctnet is missing']
 * ```
 */
export function missingFromTable(expected: readonly NftCommand[], existing: CtnetTableState | undefined): string[] {
  const adds = expected.flatMap((c) => ('add' in c ? [c.add] : []));
  if (adds.length === 0) return [];
  if (existing === undefined) return [`${TABLE} is missing`];
  const chains = new Set(existing.chains);
  const sets = new Set(existing.sets);
  const listed = new Map<string, ListedElement>();
  for (const e of existing.elements) listed.set(elementId(e.set, e.key), e);
  const problems: string[] = [];
  const expectedRules = new Map<string, { chain: string; comment: string | undefined; count: number }>();
  for (const obj of adds) {
    if ('chain' in obj) {
      if (!chains.has(obj.chain.name)) problems.push(`chain "${obj.chain.name}" is missing from ${TABLE}`);
    } else if ('set' in obj || 'map' in obj) {
      const [kind, name] = 'set' in obj ? ['set', obj.set.name] : ['map', obj.map.name];
      if (!sets.has(name)) problems.push(`${kind} "${name}" is missing from ${TABLE}`);
    } else if ('rule' in obj) {
      const { chain, comment } = obj.rule;
      const id = `${chain}\0${comment ?? ''}`;
      const entry = expectedRules.get(id) ?? { chain, comment, count: 0 };
      entry.count++;
      expectedRules.set(id, entry);
    } else if ('element' in obj) {
      const { name, elem } = obj.element;
      // A missing set or map is reported once, not once per element.
      if (!sets.has(name)) continue;
      for (const e of elem) {
        const problem = elementProblem(name, e, listed);
        if (problem !== undefined) problems.push(problem);
      }
    }
  }
  for (const { chain, comment, count } of expectedRules.values()) {
    if (!chains.has(chain)) continue;
    const found = existing.rules.filter((r) => r.chain === chain && r.comment === comment).length;
    if (found !== count) problems.push(`chain "${chain}" holds ${found} rules of "${comment ?? ''}", expected ${count}`);
  }
  return problems;
}

/**
 * The part of a setup batch that its elements need: the table, the sets and maps they go into,
 * and the elements themselves. A port check takes this much of the port batch and leaves the base
 * chains to the network check.
 *
 * @example
 * ```ts
 * missingFromTable(elementsAndTheirSets(buildPortsSetup(ep)), state);
 * ```
 */
export function elementsAndTheirSets(cmds: readonly NftCommand[]): NftCommand[] {
  const names = new Set(cmds.flatMap((c) => ('add' in c && 'element' in c.add ? [c.add.element.name] : [])));
  return cmds.filter((c) => {
    if (!('add' in c)) return false;
    const obj = c.add;
    if ('table' in obj || 'element' in obj) return true;
    if ('set' in obj) return names.has(obj.set.name);
    return 'map' in obj && names.has(obj.map.name);
  });
}

function elementProblem(set: string, e: NftSetElem | NftMapElem, listed: ReadonlyMap<string, ListedElement>): string | undefined {
  const [keyPart, data] = Array.isArray(e) ? e : [e, undefined];
  const { val: key, comment } = typeof keyPart === 'object' && 'elem' in keyPart ? keyPart.elem : { val: keyPart, comment: undefined };
  const where = `${data === undefined ? 'set' : 'map'} "${set}"`;
  const target = data !== undefined && typeof data === 'object' ? verdictTarget(data) : undefined;
  const value = typeof data === 'object' ? undefined : data;
  const found = listed.get(elementId(set, key));
  if (found === undefined) {
    const to = target !== undefined ? ` : jump ${target}` : value !== undefined ? ` : ${value}` : '';
    return `element ${keyText(key)}${to} is missing from ${where}`;
  }
  if (target !== undefined && found.target !== target) {
    return `element ${keyText(key)} of ${where} jumps to ${found.target ?? 'no chain'}, expected ${target}`;
  }
  if (value !== undefined && found.value !== value) {
    return `element ${keyText(key)} of ${where} maps to ${found.value ?? 'nothing'}, expected ${value}`;
  }
  if (comment !== undefined && found.comment !== comment) {
    return `element ${keyText(key)} of ${where} belongs to "${found.comment ?? ''}", expected "${comment}"`;
  }
  return undefined;
}

// The listing records the chain of a jump and of a goto alike (`ListedElement.target`).
function verdictTarget(verdict: NftVerdict): string | undefined {
  if ('jump' in verdict) return verdict.jump.target;
  if ('goto' in verdict) return verdict.goto.target;
  return undefined;
}

function elementId(set: string, key: NftElemKey): string {
  return `${set}\0${keyText(key)}`;
}

// A key as nft prints it. nft lists a full-length prefix in an interval set as the bare address.
function keyText(key: NftElemKey): string {
  if (typeof key === 'string') return key;
  if ('prefix' in key) {
    const { addr, len } = key.prefix;
    return len === (addr.includes(':') ? 128 : 32) ? addr : `${addr}/${len}`;
  }
  if ('range' in key) return `${key.range[0]}-${key.range[1]}`;
  return key.concat.join(' . ');
}
