/**
 * Per-namespace and per-interface IP settings as the kernel announces them (RTM_NEWNETCONF on
 * RTNLGRP_IPV4_NETCONF / RTNLGRP_IPV6_NETCONF): writing `net.ipv4.ip_forward` or
 * `net.ipv6.conf.all.forwarding` sends one for `all`, one for `default` and one per interface.
 * @module
 */
import { attrMap, readS32 } from '../attr.js';
import { AF_INET, AF_INET6, NETCONFA_FORWARDING, NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL, NETCONFA_IFINDEX_DEFAULT, NETCONFMSG_LEN } from '../constants.js';

/** What one netconf message says. */
export interface NetconfInfo {
  family: 4 | 6;
  /** `all` (the namespace's switch: `ip_forward`, `conf.all`), `default` (new interfaces) or one interface. */
  scope: 'all' | 'default' | 'link';
  /** The interface's index when `scope` is `link`; -1 (`all`) and -2 (`default`) otherwise. */
  index: number;
  /** NETCONFA_FORWARDING, when the message carries it. */
  forwarding: boolean | undefined;
}

/**
 * Decode an RTM_NEWNETCONF / RTM_DELNETCONF payload; undefined for families other than IPv4/IPv6
 * (MPLS has netconf too).
 *
 * @throws {RangeError} if the payload lacks NETCONFA_IFINDEX.
 * @example
 * ```ts
 * decodeNetconf(msg.payload); // { family: 4, scope: 'all', index: -1, forwarding: false }
 * ```
 */
export function decodeNetconf(payload: Buffer): NetconfInfo | undefined {
  if (payload.length < 1) throw new RangeError('an empty netconf message');
  const af = payload.readUInt8(0);
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const attrs = attrMap(payload, NETCONFMSG_LEN);
  const index = readS32(attrs.get(NETCONFA_IFINDEX));
  if (index === undefined) throw new RangeError('a netconf message without NETCONFA_IFINDEX');
  const forwarding = readS32(attrs.get(NETCONFA_FORWARDING));
  return {
    family: af === AF_INET ? 4 : 6,
    scope: index === NETCONFA_IFINDEX_ALL ? 'all' : index === NETCONFA_IFINDEX_DEFAULT ? 'default' : 'link',
    index,
    forwarding: forwarding === undefined ? undefined : forwarding !== 0,
  };
}
