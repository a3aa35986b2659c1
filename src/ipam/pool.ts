/**
 * A network's address pool over its storage: one address per subnet for a new endpoint, round
 * robin after the last one handed out, and the undo of that when the endpoint is not made after
 * all. The storage is an interface: the state database in the engine, a map in tests.
 * @module
 */
import { type Cidr, cidrNetwork } from '../inet/cidr.js';
import { type IpAddress, ipEquals } from '../inet/ip.js';
import type { SubnetRecord } from '../state/records.js';
import { allocateAddress } from './allocator.js';

/** Where a pool keeps what is taken and where each subnet's round robin stands. */
export interface IpamStore {
  /** Whether `ip` is held in the network. */
  isAllocated(networkId: string, ip: IpAddress): boolean;
  /** The address last handed out in `subnet`, or undefined. */
  lastAllocated(networkId: string, subnet: Cidr): IpAddress | undefined;
  setLastAllocated(networkId: string, subnet: Cidr, ip: IpAddress): void;
}

/** An address picked in one subnet, with the subnet and its gateway. */
export interface PickedAddress {
  ip: IpAddress;
  subnet: Cidr;
  gateway: IpAddress;
}

/** A round-robin cursor that {@link pickAddresses} moved: where it was, and where it put it. */
export interface CursorMove {
  subnet: Cidr;
  previous: IpAddress | undefined;
  set: IpAddress;
}

/**
 * One address in each subnet: the requested one of its family, else the next free one after the
 * subnet's cursor, which then moves there. The caller records the addresses as taken in the same
 * transaction, so that no two endpoints get one address.
 * @example
 * pickAddresses(store, 'net1', [{ subnet: parseCidr('10.68.0.0/24'), gateway: parseIp('10.68.0.1') }], new Map());
 * // { picked: [{ ip: 10.68.0.2, ... }], cursors: [{ subnet: 10.68.0.0/24, previous: undefined, set: 10.68.0.2 }] }
 */
export function pickAddresses(
  store: IpamStore,
  networkId: string,
  subnets: readonly SubnetRecord[],
  requested: ReadonlyMap<4 | 6, IpAddress>,
): { picked: PickedAddress[]; cursors: CursorMove[] } {
  const cursors: CursorMove[] = [];
  const picked = subnets.map(({ subnet, gateway }): PickedAddress => {
    const last = store.lastAllocated(networkId, subnet);
    const want = requested.get(subnet.family);
    const ip = allocateAddress({
      subnet,
      gateway,
      isTaken: (c) => store.isAllocated(networkId, c),
      ...(last === undefined ? {} : { last }),
      ...(want === undefined ? {} : { requested: want }),
    });
    if (want === undefined) {
      store.setLastAllocated(networkId, subnet, ip);
      cursors.push({ subnet, previous: last, set: ip });
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
    const now = store.lastAllocated(networkId, c.subnet);
    if (now === undefined || !ipEquals(now, c.set)) continue;
    // There was no cursor: the network address lies outside the host range, which the allocator
    // reads as "start from the first host", the same as no cursor at all.
    store.setLastAllocated(networkId, c.subnet, c.previous ?? cidrNetwork(c.subnet));
  }
}

/** An {@link IpamStore} in memory, for tests of the logic above and of its callers. */
export class MemoryIpamStore implements IpamStore {
  readonly #taken = new Set<string>();
  readonly #cursors = new Map<string, IpAddress>();

  isAllocated(networkId: string, ip: IpAddress): boolean {
    return this.#taken.has(`${networkId} ${ip.family} ${ip.value}`);
  }

  lastAllocated(networkId: string, subnet: Cidr): IpAddress | undefined {
    return this.#cursors.get(`${networkId} ${subnet.family} ${subnet.network}/${subnet.prefix}`);
  }

  setLastAllocated(networkId: string, subnet: Cidr, ip: IpAddress): void {
    this.#cursors.set(`${networkId} ${subnet.family} ${subnet.network}/${subnet.prefix}`, ip);
  }

  /** Mark an address as held, as the engine's endpoint insert does. */
  take(networkId: string, ip: IpAddress): void {
    this.#taken.add(`${networkId} ${ip.family} ${ip.value}`);
  }
}
