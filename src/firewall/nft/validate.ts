/**
 * The checks on the driver's input, made before any command is built: ids (they end up in chain
 * names and comments), subnets and published-port mappings, turned into what the builders need
 * (addresses as nft writes them, each formatted once).
 * @module
 */
import { cidrNetwork } from '../../inet/cidr.js';
import { familyBits, formatIp, type IpAddress, ipFormatter } from '../../inet/ip.js';
import { describeValue } from '../../validate/describe.js';
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

/** A checked port mapping, with the kind of map it goes to, its key there and its addresses as text. */
export interface ParsedPort {
  mapping: PortMapping;
  kind: PubKind;
  key: NftConcatValue;
  /** The container address, as nft writes it. */
  containerIp: string;
  /** The host address, as nft writes it; undefined for every local address. */
  hostIp: string | undefined;
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
 * Checks the network's id and its subnets.
 *
 * @throws {TypeError} if the id is not hex or a subnet's prefix does not fit its family.
 */
export function validateNetwork(net: FirewallNetwork): ParsedSubnet[] {
  validateNetworkId(net);
  return net.subnets.map((s) => {
    // Widened: the driver is public, and JavaScript callers are not held to the type.
    const family: number = s.family;
    if ((family !== 4 && family !== 6) || !Number.isInteger(s.prefix) || s.prefix < 0 || s.prefix > familyBits(s.family)) {
      throw new TypeError(`Invalid subnet for network "${net.name}": family ${family}, prefix length ${s.prefix}`);
    }
    return { family: s.family, addr: formatIp(cidrNetwork(s)), len: s.prefix };
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
  const bad = (what: string): TypeError => new TypeError(`Invalid published port for endpoint "${ep.id}": ${what}`);
  // A port range repeats the same two addresses for every port: format each once.
  const format = ipFormatter();
  const textOf = (ip: IpAddress, family: Fam, what: string): string => {
    // Widened as below: a JavaScript caller may pass text, or nothing.
    const given: unknown = ip;
    if (typeof given !== 'object' || given === null || typeof ip.value !== 'bigint') throw bad(`${what} ${describeValue(given)} is not a parsed IP address`);
    if (ip.family !== family) throw bad(`${what} ${format(ip)} is not IPv${family}`);
    return format(ip);
  };
  return ep.ports.map((p) => {
    // Widened: the driver is public, and JavaScript callers are not held to the type.
    const family: number = p.family;
    const protocol: string = p.protocol;
    if (family !== 4 && family !== 6) throw bad(`family ${family}, expected 4 or 6`);
    if (protocol !== 'tcp' && protocol !== 'udp') throw bad(`protocol "${protocol}", expected "tcp" or "udp"`);
    if (!isPort(p.hostPort)) throw bad(`host port ${p.hostPort}, expected 1 to 65535`);
    if (!isPort(p.containerPort)) throw bad(`container port ${p.containerPort}, expected 1 to 65535`);
    const containerIp = textOf(p.containerIp, p.family, 'container address');
    const hostIp = p.hostIp === undefined ? undefined : textOf(p.hostIp, p.family, 'host address');
    const key: NftConcatValue = hostIp === undefined ? { concat: [p.protocol, p.hostPort] } : { concat: [hostIp, p.protocol, p.hostPort] };
    return { mapping: p, kind: hostIp === undefined ? 'any' : 'ip', key, containerIp, hostIp };
  });
}

/**
 * A string that two mappings share exactly when they have the same map key in the same family:
 * `4 tcp 8080`, `6 fd00::1 udp 53`. Cheaper than comparing `key`s (a batch may hold 131070).
 */
export function keyId(p: ParsedPort): string {
  const m = p.mapping;
  return p.hostIp === undefined ? `${m.family} ${m.protocol} ${m.hostPort}` : `${m.family} ${p.hostIp} ${m.protocol} ${m.hostPort}`;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
