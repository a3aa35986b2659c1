/**
 * The part of every setup batch that belongs to no network and no endpoint: the table, its base
 * chains, the shared maps and sets, and the base chains' rules. Network and port setups both start
 * with it, so each works on its own.
 * @module
 */
import type { NftChain, NftCommand, NftConcatExpr, NftHook, NftMapLookup, NftPayload, NftPrefix, NftStatement } from './schema.js';
import {
  BASE_FORWARD,
  BASE_OUTPUT,
  BASE_POSTROUTING,
  BASE_PREROUTING,
  CTNET_TABLE,
  FAMILIES,
  FAMILY,
  PUB_KINDS,
  addRule,
  addrField,
  addrType,
  chainRef,
  ctStatusDnat,
  match,
  pubMapName,
  tableRef,
  type Fam,
  type PubKind,
  type PubPart,
} from './table.js';

// Netfilter priorities by their nft names: filter 0, dstnat -100, srcnat 100.
const PRIO_FILTER = 0;
const PRIO_DSTNAT = -100;
const PRIO_SRCNAT = 100;
// Base chains are ctnet's own, not a network's; their rules are tagged with this owner.
const BASE_OWNER = 'ctnet base';

/** The table and the base chains: first in every setup batch, before any network chain. */
export function baseHead(): NftCommand[] {
  return [
    { add: { table: { family: FAMILY, name: CTNET_TABLE } } },
    { add: { chain: baseChain(BASE_FORWARD, 'filter', PRIO_FILTER) } },
    { add: { chain: baseChain(BASE_POSTROUTING, 'nat', PRIO_SRCNAT) } },
    { add: { chain: baseChain(BASE_PREROUTING, 'nat', PRIO_DSTNAT) } },
    { add: { chain: baseChain(BASE_OUTPUT, 'nat', PRIO_DSTNAT) } },
  ];
}

/** The shared maps and sets, and the base chains' rules (flushed and re-added, which repairs them). */
export function baseShared(): NftCommand[] {
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

// ctnet's base chains are named after their hooks.
function baseChain(name: string, type: 'filter' | 'nat', prio: number): NftChain {
  return { ...tableRef(), name, type, hook: name as NftHook, prio, policy: 'accept' };
}
