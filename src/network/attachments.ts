/**
 * Which recorded endpoint a container's name stands for. A CNI attachment is its runtime's: found
 * by container id (and interface) alone, and a container may have several. A CLI attachment is
 * found by the name it was given, else by its namespace however named now, and a container has
 * one per network.
 * @module
 */
import { ConflictError } from '../errors.js';
import { type NetnsRef, parseNetnsRef } from '../netns/netns.js';
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import type { StateStore } from '../state/store.js';
import type { EndpointSelector } from './types.js';

/**
 * The endpoint of `container` on a network (with `selector.ifname`: that attachment), or
 * undefined. A CLI one is also found by its namespace: the same device and inode (`identityOf`
 * names the namespace a reference leads to now), or, for records from before identities were
 * kept, the same path.
 */
export function findAttachment(
  store: StateStore,
  networkId: string,
  container: string,
  selector: EndpointSelector,
  identityOf: (ref: NetnsRef) => string | undefined,
): EndpointRecord | undefined {
  const owner = selector.owner ?? 'cli';
  const ifname = selector.ifname;
  const byName = store.getEndpoint(networkId, { owner, container, ...(ifname === undefined ? {} : { ifname }) });
  if (byName !== undefined || owner === 'cni') return byName;
  let ref: NetnsRef;
  try {
    ref = parseNetnsRef(container);
  } catch {
    return undefined; // not a namespace reference at all, so nothing was connected under it
  }
  const matches = (e: EndpointRecord): boolean => ifname === undefined || e.ifname === ifname;
  const identity = identityOf(ref);
  const same = identity === undefined ? undefined : store.listEndpoints({ networkId, owner, netnsId: identity }).find(matches);
  return same ?? store.listEndpoints({ networkId, owner, netns: ref.path }).find(matches);
}

/**
 * Refuse a second attachment of a container: a runtime may attach one container twice with two
 * interface names, the CLI allows one attachment per network, under any name of its namespace.
 * @throws {ConflictError} naming the container and the network
 */
export function assertNotAttached(store: StateStore, net: NetworkRecord, ep: Pick<EndpointRecord, 'owner' | 'container' | 'ifname' | 'netns' | 'netnsId'>): void {
  const existing =
    ep.owner === 'cni'
      ? store.getEndpoint(net.id, { owner: 'cni', container: ep.container, ifname: ep.ifname })
      : (store.getEndpoint(net.id, { owner: 'cli', container: ep.container }) ??
        store.listEndpoints({ networkId: net.id, owner: 'cli', netnsId: ep.netnsId })[0] ??
        store.listEndpoints({ networkId: net.id, owner: 'cli', netns: ep.netns })[0]);
  if (existing !== undefined) {
    const how = ep.owner === 'cni' ? ` with interface "${ep.ifname}"` : '';
    throw new ConflictError(`container "${ep.container}" is already connected to network "${net.name}"${how}`);
  }
}
