/**
 * Validation of a network spec into a complete, typed plan. Pure: nothing here touches the system,
 * so bad input is rejected before any change.
 * @module
 */
import { InvalidConfigError } from '../errors.js';
import { defaultGateway, validateGateway } from '../ipam/allocator.js';
import { type Cidr, cidrOverlaps, formatCidr, parseCidr } from '../inet/cidr.js';
import { parseIp } from '../inet/ip.js';
import type { NetworkRecord, SubnetRecord } from '../state/records.js';
import { driverNamesText, isDriverName } from './driver-names.js';
import { describeValue } from '../validate/describe.js';
import { validateIfName, validateNetworkName } from '../validate/names.js';
import type { NetworkSpec } from './types.js';

/** A network record to be. */
export type NetworkPlan = Omit<NetworkRecord, 'id' | 'created' | 'status'>;

export const DEFAULT_MTU = 1500;
const MIN_MTU = 68;
const MAX_MTU = 65535;

/**
 * Ranges a container network must not overlap, with what they are. The kernel refuses some as an
 * interface address and handles others by their kind whatever the routing table says (loopback,
 * multicast, broadcast); link-local ones only mean something on one link; the rest are never
 * valid destinations. Every /0 overlaps them, so it is refused too. The first overlap is reported.
 */
const RESERVED_RANGES: readonly { range: Cidr; what: string }[] = (
  [
    ['0.0.0.0/8', '"this network" addresses'], // RFC 1122: a source address only, never a destination
    ['127.0.0.0/8', 'loopback addresses'],
    ['169.254.0.0/16', 'link-local addresses'],
    ['224.0.0.0/4', 'multicast addresses'],
    ['240.0.0.0/4', 'reserved addresses and the limited broadcast address'],
    ['::/128', 'the unspecified address'],
    ['::1/128', 'the loopback address'],
    ['::ffff:0:0/96', 'IPv4-mapped addresses'],
    ['fe80::/10', 'link-local addresses'],
    ['ff00::/8', 'multicast addresses'],
  ] satisfies [range: string, what: string][]
).map(([range, what]) => ({ range: parseCidr(range), what }));

/** Parse a subnet of a network spec and refuse it if it overlaps a reserved range. */
function parseSubnet(text: string): Cidr {
  const cidr = parseCidr(text);
  const reserved = RESERVED_RANGES.find((r) => cidrOverlaps(r.range, cidr));
  if (reserved !== undefined) {
    throw new InvalidConfigError(
      `invalid subnet ${JSON.stringify(text)}: ${reserved.what} (${formatCidr(reserved.range)}) cannot be in a container network`,
    );
  }
  return cidr;
}

/** Bridge name derived from the network name when it fits, else from the network id. */
export function defaultBridgeName(networkName: string, networkId: string): string {
  const byName = `ct-${networkName}`;
  return Buffer.byteLength(byName) <= 15 && /^[a-zA-Z0-9_.-]+$/.test(networkName) ? byName : `ct-${networkId.slice(0, 12)}`;
}

/** What each field of a spec must be, for callers the compiler did not check (JavaScript, JSON). */
const SPEC_FIELDS: Readonly<Record<keyof NetworkSpec, 'string' | 'number' | 'boolean' | 'strings'>> = {
  name: 'string',
  subnets: 'strings',
  gateway: 'string',
  driver: 'string',
  bridge: 'string',
  mtu: 'number',
  nat: 'boolean',
  internal: 'boolean',
};

function checkSpecShape(spec: unknown): asserts spec is NetworkSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new InvalidConfigError('invalid network spec: expected an object with "name" and "subnets"');
  const fields = spec as Record<string, unknown>;
  for (const [key, kind] of Object.entries(SPEC_FIELDS)) {
    const value = fields[key];
    if (value === undefined) {
      if (key === 'name' || key === 'subnets') throw new InvalidConfigError(`invalid network spec: "${key}" is required`);
      continue;
    }
    const ok = kind === 'strings' ? Array.isArray(value) && value.every((v) => typeof v === 'string') : typeof value === kind;
    if (!ok) throw new InvalidConfigError(`invalid network spec: "${key}" must be ${kind === 'strings' ? 'a list of strings' : `a ${kind}`}, not ${describeValue(value)}`);
  }
}

/**
 * Check a spec and fill in every default. `networkId` is only used to derive a bridge name.
 * @throws {InvalidConfigError} on any bad field, naming it and its value.
 */
export function planNetwork(spec: NetworkSpec, networkId: string): NetworkPlan {
  checkSpecShape(spec);
  validateNetworkName(spec.name);
  const driver = spec.driver ?? 'bridge';
  if (!isDriverName(driver)) {
    throw new InvalidConfigError(`invalid driver "${String(driver)}": expected ${driverNamesText()}`);
  }
  if (spec.subnets.length === 0) throw new InvalidConfigError(`network "${spec.name}" needs at least one subnet`);
  const cidrs = spec.subnets.map(parseSubnet);
  for (const family of [4, 6] as const) {
    const same = cidrs.filter((c) => c.family === family);
    if (same.length > 1) {
      throw new InvalidConfigError(`network "${spec.name}" has more than one IPv${family} subnet: ${same.map(formatCidr).join(', ')}`);
    }
  }
  const subnets = cidrs.map((subnet, i): SubnetRecord => {
    // --gateway applies to the first subnet given, which the grammar puts first.
    if (i === 0 && spec.gateway !== undefined) {
      const gateway = parseIp(spec.gateway);
      if (gateway.family !== subnet.family) {
        throw new InvalidConfigError(`gateway "${spec.gateway}" is not in subnet "${formatCidr(subnet)}"`);
      }
      validateGateway(subnet, gateway);
      return { subnet, gateway };
    }
    return { subnet, gateway: defaultGateway(subnet) };
  });
  const mtu = spec.mtu ?? DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new InvalidConfigError(`invalid MTU ${String(mtu)}: expected an integer from ${MIN_MTU} to ${MAX_MTU}`);
  }
  let bridge: string | null = null;
  if (driver === 'bridge') {
    bridge = spec.bridge ?? defaultBridgeName(spec.name, networkId);
    validateIfName(bridge, 'bridge name');
  } else if (spec.bridge !== undefined) {
    throw new InvalidConfigError(`--bridge "${spec.bridge}" only applies to the bridge driver, not "${driver}"`);
  }
  const internal = spec.internal ?? false;
  if (internal && spec.nat === true) {
    throw new InvalidConfigError(`network "${spec.name}" cannot be internal and masqueraded at once`);
  }
  return { name: spec.name, driver, bridge, mtu, nat: internal ? false : (spec.nat ?? true), internal, subnets };
}
