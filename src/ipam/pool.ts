/**
 * A network's address pool over its storage: one address per subnet for a new endpoint, round
 * robin after the last one handed out, and the undo of that when the endpoint is not made after
 * all. The storage is an interface: the state database in the engine, a map in tests.
 * @module
 */
import { type Cidr, parseCidr } from '../inet/cidr.js';
import { formatIp, type IpAddress, parseIp } from '../inet/ip.js';
import { allocateAddress } from './allocator.js';

/** Where a pool keeps what is taken and where each subnet's round robin stands. */
export interface IpamStore {
  /** Whether `address` (without prefix) is held in the network. */
  isAllocated(networkId: string, address: string): boolean;
  /** The address last handed out in `subnet`, or undefined. */
  lastAllocated(networkId: string, subnet: string): string | undefined;
  setLastAllocated(networkId: string, subnet: string, address: string): void;
}

/** One subnet of a network, as records keep it. */
export interface PoolSubnet {
  subnet: string;
  gateway: string;
}

/** An address picked in one subnet, with the subnet and its gateway. */
export interface PickedAddress {
  ip: IpAddress;
  subnet: Cidr;
  gateway: IpAddress;
}

/** A round-robin cursor that {@link pickAddresses} moved: where it was, and where it put it. */
export interface CursorMove {
  subnet: string;
  previous: string | undefined;
  set: string;
}

/**
 * One address in each subnet: the requested one of its family, else the next free one after the
 * subnet's cursor, which then moves there. The caller records the addresses as taken in the same
 * transaction, so that no two endpoints get one address.
 * @example
 * pickAddresses(store, 'net1', [{ subnet: '10.68.0.0/24', gateway: '10.68.0.1' }], new Map());
 * // { picked: [{ ip: 10.68.0.2, ... }], cursors: [{ subnet: '10.68.0.0/24', previous: undefined, set: '10.68.0.2' }] }
 */
export function pickAddresses(
  store: IpamStore,
  networkId: string,
  subnets: readonly PoolSubnet[],
  requested: ReadonlyMap<4 | 6, IpAddress>,
): { picked: PickedAddress[]; cursors: CursorMove[] } {
  const cursors: CursorMove[] = [];
  const picked = subnets.map((s): PickedAddress => {
    const subnet = parseCidr(s.subnet);
    const gateway = parseIp(s.gateway);
    const last = store.lastAllocated(networkId, s.subnet);
    const want = requested.get(subnet.family);
    const ip = allocateAddress({
      subnet,
      gateway,
      isTaken: (c) => store.isAllocated(networkId, formatIp(c)),
      ...(last === undefined ? {} : { last: parseIp(last) }),
      ...(want === undefined ? {} : { requested: want }),
    });
    if (want === undefined) {
      store.setLastAllocated(networkId, s.subnet, formatIp(ip));
      cursors.push({ subnet: s.subnet, previous: last, set: formatIp(ip) });
    }
    return { ip, subnet, gateway };
  });
  return { picked, cursors };
}

/**
 * Put back the cursors {@link pickAddresses} moved for an endpoint that was not made, so the next
 * container gets the address this one would have had. A cursor that another allocation has moved
 * since is left alone.
 */
export function restoreCursors(store: IpamStore, networkId: string, cursors: readonly CursorMove[]): void {
  for (const c of cursors) {
    if (store.lastAllocated(networkId, c.subnet) !== c.set) continue;
    // There was no cursor: the network address lies outside the host range, which the allocator
    // reads as "start from the first host", the same as no cursor at all.
    const subnet = parseCidr(c.subnet);
    store.setLastAllocated(networkId, c.subnet, c.previous ?? formatIp({ family: subnet.family, value: subnet.network }));
  }
}

/** An {@link IpamStore} in memory, for tests of the logic above and of its callers. */
export class MemoryIpamStore implements IpamStore {
  readonly taken = new Set<string>();
  readonly #cursors = new Map<string, string>();

  isAllocated(networkId: string, address: string): boolean {
    return this.taken.has(`${networkId} ${address}`);
  }

  lastAllocated(networkId: string, subnet: string): string | undefined {
    return this.#cursors.get(`${networkId} ${subnet}`);
  }

  setLastAllocated(networkId: string, subnet: string, address: string): void {
    this.#cursors.set(`${networkId} ${subnet}`, address);
  }

  /** Mark an address as held, as the engine's endpoint insert does. */
  take(networkId: string, address: string): void {
    this.taken.add(`${networkId} ${address}`);
  }
}
