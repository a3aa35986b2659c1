/**
 * A new endpoint's addresses, reserved in the state database together with its record, and
 * released again when the endpoint is not made after all. The pool logic is `pool.ts`; this module
 * ties it to the database's transaction, so that concurrent connects never share an address.
 * @module
 */
import { ipWithPrefix } from '../inet/cidr.js';
import type { IpAddress } from '../inet/ip.js';
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import type { StateStore } from '../state/store.js';
import { type CursorMove, type PickedAddress, pickAddresses, restoreCursors } from './pool.js';

/** What {@link allocateEndpoint} reserved. */
export interface EndpointAllocation {
  /** One address per subnet of the network, with the subnet and its gateway. */
  picked: PickedAddress[];
  /** The endpoint as recorded: its addresses with the prefix they get on the interface. */
  record: EndpointRecord;
  /** Where the round robin moved, for {@link releaseEndpoint}. */
  cursors: CursorMove[];
}

/**
 * Pick the endpoint's addresses (`requested` ones by family, the next free ones otherwise) and
 * insert its record holding them, in one transaction; the record's addresses get the prefix
 * `interfacePrefix` gives. Inside a caller's transaction it is part of that one.
 * @throws {ConflictError} for a requested address that is taken
 * @throws {IpamExhaustedError} when a subnet has no free address
 */
export function allocateEndpoint(
  store: StateStore,
  net: NetworkRecord,
  endpoint: Omit<EndpointRecord, 'networkId' | 'addresses'>,
  requested: ReadonlyMap<4 | 6, IpAddress>,
  interfacePrefix: (family: 4 | 6, subnetPrefix: number) => number,
): EndpointAllocation {
  return store.transaction(() => {
    const { picked, cursors } = pickAddresses(store, net.id, net.subnets, requested);
    const addresses = picked.map((p) => ipWithPrefix(p.ip, interfacePrefix(p.ip.family, p.subnet.prefix)));
    const record: EndpointRecord = { ...endpoint, networkId: net.id, addresses };
    store.insertEndpoint(record);
    return { picked, record, cursors };
  });
}

/** Undo {@link allocateEndpoint}: drop the endpoint with its addresses, put the cursors back. */
export function releaseEndpoint(store: StateStore, allocation: EndpointAllocation): void {
  store.transaction(() => {
    store.deleteEndpoint(allocation.record.id);
    restoreCursors(store, allocation.record.networkId, allocation.cursors);
  });
}
