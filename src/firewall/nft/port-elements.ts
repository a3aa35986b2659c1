/**
 * The published ports of one endpoint as nf_tables netlink messages: the same elements, keys,
 * data and comments as the JSON batches of `port-rules.ts`, without the table, chains and maps
 * (a network setup makes those). Adding or removing an endpoint's ports is then one netlink
 * round trip inside this process instead of one `nft` process.
 * @module
 */
import type { BatchMessage } from '../../netlink/batch.js';
import { NFPROTO_INET, IPPROTO_TCP, IPPROTO_UDP } from '../../netlink/nftnl/constants.js';
import type { NftField } from '../../netlink/nftnl/data.js';
import { delSetElemMessages, newSetElemMessages, type NftSetElem, type NftSetRef } from '../../netlink/nftnl/setelem.js';
import type { FirewallEndpoint } from '../driver.js';
import { endpointComment, groupPorts, validatePublish } from './port-rules.js';
import { CTNET_TABLE, PUB_PARTS, addrType, pubMapName, type Fam, type PubKind, type PubPart } from './table.js';
import { keyId, validateEndpoint, type ParsedPort } from './validate.js';

/**
 * The NFT_MSG_NEWSETELEM messages that publish endpoint `ep`'s ports, for one nf_tables batch:
 * per family and kind, the address map, then the port map, each element commented
 * `ctnet ep <id>`; the order of `buildPortsSetup`. No ports give `[]`.
 *
 * @throws {TypeError} as `buildPortsSetup`.
 * @example
 * ```ts
 * await netlink.apply(portsSetupMessages(ep));
 * ```
 */
export function portsSetupMessages(ep: FirewallEndpoint): BatchMessage[] {
  const comment = endpointComment(ep.id);
  const messages: BatchMessage[] = [];
  for (const [f, kind, group] of groupPorts(validatePublish(ep))) {
    // A range repeats one container address: one data value for all of them. The elements are
    // made as they are encoded and dropped at once (see newSetElemMessages).
    const addresses = new Map<string, NftField[]>();
    const addressOf = (ip: string): NftField[] => {
      let data = addresses.get(ip);
      if (data === undefined) addresses.set(ip, (data = [{ type: addrType(f), value: ip }]));
      return data;
    };
    messages.push(
      ...newSetElemMessages(mapRef(f, kind, 'addr'), elements(group, (p) => ({ key: keyOf(p), data: addressOf(p.containerIp), comment }))),
      ...newSetElemMessages(mapRef(f, kind, 'port'), elements(group, (p) => ({ key: keyOf(p), data: [{ type: 'inet_service', value: p.mapping.containerPort }], comment }))),
    );
  }
  return messages;
}

/**
 * The NFT_MSG_DELSETELEM messages that delete exactly endpoint `ep`'s keys from both maps of each
 * kind (a mapping given twice is deleted once); the kernel fails the batch with ENOENT when one of
 * them is gone already. No ports give `[]`.
 *
 * @throws {TypeError} as `buildPortsTeardown`.
 */
export function portsTeardownMessages(ep: FirewallEndpoint): BatchMessage[] {
  const messages: BatchMessage[] = [];
  for (const [f, kind, group] of groupPorts(validateEndpoint(ep))) {
    const unique = [...new Map(group.map((p) => [keyId(p), p])).values()];
    for (const part of PUB_PARTS) messages.push(...delSetElemMessages(mapRef(f, kind, part), elements(unique, (p) => ({ key: keyOf(p) }))));
  }
  return messages;
}

function* elements(ports: readonly ParsedPort[], elem: (p: ParsedPort) => NftSetElem): Generator<NftSetElem> {
  for (const p of ports) yield elem(p);
}

function mapRef(f: Fam, kind: PubKind, part: PubPart): NftSetRef {
  return { family: NFPROTO_INET, table: CTNET_TABLE, set: pubMapName(f, kind, part) };
}

// `[address .] protocol . port`, the key types of the `ip` and `any` maps.
function keyOf(p: ParsedPort): NftField[] {
  const { mapping } = p;
  const proto: NftField = { type: 'inet_proto', value: mapping.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP };
  const port: NftField = { type: 'inet_service', value: mapping.hostPort };
  if (p.kind === 'any' || p.hostIp === undefined) return [proto, port];
  return [{ type: addrType(mapping.family), value: p.hostIp }, proto, port];
}
