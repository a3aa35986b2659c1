/**
 * The input of a connect, checked and parsed once before anything changes: the static addresses,
 * the interface name, the MAC address and the ports to publish, against the network they are for.
 * @module
 */
import { InvalidConfigError } from '../errors.js';
import { formatCidr } from '../inet/cidr.js';
import { type IpAddress, parseIp } from '../inet/ip.js';
import { assertUnicastMac, formatMac, parseMac, randomMac } from '../inet/mac.js';
import type { NetworkRecord, PortRecord } from '../state/records.js';
import { validateIfName } from '../validate/names.js';
import { expandPorts } from './ports.js';
import type { ConnectOptions } from './types.js';

/** A connect's options, parsed. */
export interface ConnectPlan {
  /** Static addresses by family; the other families are allocated. */
  requested: Map<4 | 6, IpAddress>;
  /** The interface name asked for; undefined: the first free `ethN`. */
  ifname: string | undefined;
  /** The container interface's MAC address, canonical; random when none was asked for. */
  mac: string;
  /** One record per port and family to publish. */
  ports: PortRecord[];
}

/**
 * Check and parse a connect's options for network `net`.
 * @throws {InvalidConfigError} naming the bad option and its value
 */
export function planConnect(net: NetworkRecord, options: ConnectOptions): ConnectPlan {
  const requested = parseRequestedIps(net, options.ips ?? []);
  if (options.ifname !== undefined) validateIfName(options.ifname);
  let mac: string;
  if (options.mac === undefined) {
    mac = formatMac(randomMac());
  } else {
    const bytes = parseMac(options.mac);
    assertUnicastMac(bytes);
    mac = formatMac(bytes);
  }
  const ports = expandPorts(options.ports ?? [], new Set(net.subnets.map((s) => s.subnet.family)));
  return { requested, ifname: options.ifname, mac, ports };
}

function parseRequestedIps(net: NetworkRecord, ips: readonly string[]): Map<4 | 6, IpAddress> {
  const out = new Map<4 | 6, IpAddress>();
  for (const text of ips) {
    const ip = parseIp(text);
    if (out.has(ip.family)) throw new InvalidConfigError(`more than one IPv${ip.family} address requested: "${text}"`);
    if (!net.subnets.some((s) => s.subnet.family === ip.family)) {
      throw new InvalidConfigError(`address "${text}" is not in any subnet of network "${net.name}" (${net.subnets.map((s) => formatCidr(s.subnet)).join(', ')})`);
    }
    out.set(ip.family, ip);
  }
  return out;
}

/** eth0 for a container's first network, then eth1, eth2, ... */
export function firstFreeEthName(existing: readonly string[]): string {
  const names = new Set(existing);
  for (let i = 0; ; i++) if (!names.has(`eth${i}`)) return `eth${i}`;
}
