/**
 * The published ports of one endpoint: the batch that adds its elements to the DNAT maps, the
 * batch that deletes exactly those keys, and the clean-up that deletes whatever the table still
 * holds with the endpoint's comment.
 * @module
 */
import { formatPortHost } from '../../inet/port.js';
import type { FirewallEndpoint } from '../driver.js';
import { baseHead, baseShared } from './base-rules.js';
import type { NftCommand, NftMapElem, NftSetElem } from './schema.js';
import type { CtnetTableState } from './table-state.js';
import {
  FAMILIES,
  PUB_KINDS,
  PUB_PARTS,
  addElements,
  deleteElements,
  pubMapName,
  tableRef,
  type Fam,
  type PubKind,
} from './table.js';
import { keyId, validateEndpoint, validateHexId, type ParsedPort } from './validate.js';

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

const PUB_MAPS: readonly string[] = FAMILIES.flatMap((f) =>
  PUB_KINDS.flatMap((k) => PUB_PARTS.map((p) => pubMapName(f, k, p))),
);

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
 *   protocol: 'tcp', hostPort: 8080, containerIp: parseIp('10.68.0.2'), containerPort: 80 }] });
 * await runner.run(cmds);
 * ```
 */
export function buildPortsSetup(ep: FirewallEndpoint): NftCommand[] {
  const ports = validatePublish(ep);
  if (ports.length === 0) return [];
  const comment = endpointComment(ep.id);
  const cmds: NftCommand[] = [...baseHead(), ...baseShared()];
  for (const [f, kind, group] of groupPorts(ports)) {
    const elem = (p: ParsedPort): NftSetElem => ({ elem: { val: p.key, comment } });
    cmds.push(addElements(pubMapName(f, kind, 'addr'), group.map((p): NftMapElem => [elem(p), p.containerIp])));
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
    const keys = [...new Map(group.map((p) => [keyId(p), p.key])).values()];
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

/**
 * Checks the endpoint's mappings for publishing them: {@link validateEndpoint}, and no host
 * address, protocol and port twice (one key cannot lead to two targets).
 *
 * @throws {TypeError} as {@link buildPortsSetup}.
 */
export function validatePublish(ep: FirewallEndpoint): ParsedPort[] {
  const ports = validateEndpoint(ep);
  const seen = new Set<string>();
  for (const p of ports) {
    const id = keyId(p);
    if (seen.has(id)) {
      const m = p.mapping;
      throw new TypeError(`Invalid ports for endpoint "${ep.id}": ${formatPortHost(m.family, p.hostIp)}:${m.hostPort}/${m.protocol} is published twice`);
    }
    seen.add(id);
  }
  return ports;
}

/** Mappings by family and kind, in a fixed order (4 ip, 4 any, 6 ip, 6 any), skipping empty groups. */
export function groupPorts(ports: ParsedPort[]): [Fam, PubKind, ParsedPort[]][] {
  const groups: [Fam, PubKind, ParsedPort[]][] = [];
  for (const f of FAMILIES) {
    for (const kind of PUB_KINDS) {
      const group = ports.filter((p) => p.mapping.family === f && p.kind === kind);
      if (group.length > 0) groups.push([f, kind, group]);
    }
  }
  return groups;
}
