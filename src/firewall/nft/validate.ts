/**
 * The checks on the driver's input, made before any command is built: ids (they end up in chain
 * names and comments), subnets and published-port mappings, parsed into what the builders need.
 * @module
 */
import { type Cidr, parseCidr } from '../../inet/cidr.js';
import { formatIp, isIp, parseIp } from '../../inet/ip.js';
import type { FirewallEndpoint, FirewallNetwork, PortMapping } from '../driver.js';
import type { NftConcatValue } from './schema.js';
import type { Fam, PubKind } from './table.js';

// Longer ids would make chain names and comments needlessly long; nft caps comments at 128 bytes.
const MAX_ID_LENGTH = 64;

/** A subnet of a network, checked against its family. */
export interface ParsedSubnet {
  family: Fam;
  addr: string;
  len: number;
}

/** A checked port mapping, with the kind of map it goes to and its key there. */
export interface ParsedPort {
  mapping: PortMapping;
  kind: PubKind;
  key: NftConcatValue;
}

/**
 * Checks an id that names chains or tags elements: 1 to 64 lower-case hex digits.
 *
 * @throws {TypeError} naming `owner` if it is not.
 */
export function validateHexId(id: string, owner: string): void {
  if (!/^[0-9a-f]+$/.test(id) || id.length > MAX_ID_LENGTH) {
    throw new TypeError(`Invalid id "${id}" for ${owner}: expected 1 to ${MAX_ID_LENGTH} lower-case hex digits`);
  }
}

/**
 * Checks the network's id.
 *
 * @throws {TypeError} if it is not hex.
 */
export function validateNetworkId(net: FirewallNetwork): void {
  validateHexId(net.id, `network "${net.name}"`);
}

/**
 * Checks the network's id and parses its subnets.
 *
 * @throws {TypeError} if the id is not hex or a subnet is not CIDR text of its family.
 */
export function validateNetwork(net: FirewallNetwork): ParsedSubnet[] {
  validateNetworkId(net);
  return net.subnets.map((s) => {
    const parsed = parseSubnet(s.cidr);
    if (parsed === undefined || parsed.family !== s.family) {
      throw new TypeError(`Invalid subnet "${s.cidr}" for network "${net.name}": expected IPv${s.family} CIDR text`);
    }
    return parsed;
  });
}

/**
 * Checks the endpoint's ids and port mappings, and gives each mapping its map kind and key.
 *
 * @throws {TypeError} if an id is not hex, a port is out of range, or an address is not of its
 *   mapping's family.
 */
export function validateEndpoint(ep: FirewallEndpoint): ParsedPort[] {
  validateHexId(ep.id, `endpoint "${ep.id}"`);
  validateHexId(ep.networkId, `the network of endpoint "${ep.id}"`);
  // A plain address of the family; ctnet's own parser takes no scoped IPv6 address (`fe80::1%eth0`),
  // which nft could not store anyway. A port range repeats the same two addresses for every port:
  // parse each once.
  const checked = new Map<string, boolean>();
  const isAddressOf = (family: Fam, text: string): boolean => {
    const key = `${family} ${text}`;
    let ok = checked.get(key);
    if (ok === undefined) {
      ok = isIp(text) && parseIp(text).family === family;
      checked.set(key, ok);
    }
    return ok;
  };
  const bad = (what: string): TypeError => new TypeError(`Invalid published port for endpoint "${ep.id}": ${what}`);
  return ep.ports.map((p) => {
    // Widened: the driver is public, and JavaScript callers are not held to the type.
    const family: number = p.family;
    const protocol: string = p.protocol;
    if (family !== 4 && family !== 6) throw bad(`family ${family}, expected 4 or 6`);
    if (protocol !== 'tcp' && protocol !== 'udp') throw bad(`protocol "${protocol}", expected "tcp" or "udp"`);
    if (!isPort(p.hostPort)) throw bad(`host port ${p.hostPort}, expected 1 to 65535`);
    if (!isPort(p.containerPort)) throw bad(`container port ${p.containerPort}, expected 1 to 65535`);
    if (!isAddressOf(p.family, p.containerIp)) throw bad(`container address "${p.containerIp}" is not IPv${p.family}`);
    if (p.hostIp !== undefined && !isAddressOf(p.family, p.hostIp)) throw bad(`host address "${p.hostIp}" is not IPv${p.family}`);
    const key: NftConcatValue =
      p.hostIp === undefined ? { concat: [p.protocol, p.hostPort] } : { concat: [p.hostIp, p.protocol, p.hostPort] };
    return { mapping: p, kind: p.hostIp === undefined ? 'any' : 'ip', key };
  });
}

/**
 * A string that two mappings share exactly when they have the same map key in the same family:
 * `4 tcp 8080`, `6 fd00::1 udp 53`. Cheaper than comparing `key`s (a batch may hold 131070).
 */
export function keyId(p: ParsedPort): string {
  const m = p.mapping;
  return m.hostIp === undefined ? `${m.family} ${m.protocol} ${m.hostPort}` : `${m.family} ${m.hostIp} ${m.protocol} ${m.hostPort}`;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function parseSubnet(text: string): ParsedSubnet | undefined {
  let cidr: Cidr;
  try {
    cidr = parseCidr(text);
  } catch {
    return undefined;
  }
  return { family: cidr.family, addr: formatIp({ family: cidr.family, value: cidr.network }), len: cidr.prefix };
}
