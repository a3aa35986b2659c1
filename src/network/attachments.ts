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
import type { Rtnl } from '../netlink/rtnl/handle.js';
import type { StateStore } from '../state/store.js';
import type { Kernel } from './kernel.js';
import type { LinkOwnership } from './ownership.js';
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
 * What identifies an attachment: its owner's key (a runtime's with the interface name, when known),
 * and for the CLI its namespace however named.
 */
export type AttachmentKey = Pick<EndpointRecord, 'owner' | 'container' | 'netns' | 'netnsId'> & { ifname?: string };

/**
 * The record that an attachment of `key` would be a second one of: a runtime may attach one
 * container twice with two interface names, the CLI once per network, under any name of its
 * namespace. Undefined when there is none.
 */
export function attachmentOf(store: StateStore, net: NetworkRecord, key: AttachmentKey): EndpointRecord | undefined {
  return key.owner === 'cni'
    ? store.getEndpoint(net.id, { owner: 'cni', container: key.container, ...(key.ifname === undefined ? {} : { ifname: key.ifname }) })
    : (store.getEndpoint(net.id, { owner: 'cli', container: key.container }) ??
        store.listEndpoints({ networkId: net.id, owner: 'cli', netnsId: key.netnsId })[0] ??
        store.listEndpoints({ networkId: net.id, owner: 'cli', netns: key.netns })[0]);
}

/**
 * Refuse a second attachment of a container (see {@link attachmentOf}).
 * @throws {ConflictError} naming the container and the network
 */
export function assertNotAttached(store: StateStore, net: NetworkRecord, key: AttachmentKey): void {
  if (attachmentOf(store, net, key) !== undefined) {
    const how = key.owner === 'cni' && key.ifname !== undefined ? ` with interface "${key.ifname}"` : '';
    throw new ConflictError(`container "${key.container}" is already connected to network "${net.name}"${how}`);
  }
}

/**
 * Whether the host end ctnet made for an endpoint is there. The kernel deletes a veth pair with
 * the namespace of either end, so while it is, so is the endpoint's namespace.
 */
export function hostEndPresent(host: Rtnl, links: LinkOwnership, ep: Pick<EndpointRecord, 'id' | 'hostIfname'>): boolean {
  const link = host.linkGet(ep.hostIfname);
  return link !== undefined && links.owns(link, ep.id);
}

/**
 * Whether an endpoint's container namespace is gone: its host end is gone (while it is there, so
 * is the namespace, also one the kernel is still tearing down or one that lives on after its path
 * went), and the recorded path no longer leads to the recorded namespace.
 */
export function namespaceGone(kernel: Pick<Kernel, 'host' | 'netns'>, links: LinkOwnership, ep: EndpointRecord): boolean {
  if (hostEndPresent(kernel.host, links, ep)) return false;
  let ref: NetnsRef;
  try {
    ref = parseNetnsRef(ep.netns);
  } catch {
    return true; // a path no namespace can be at
  }
  const now = kernel.netns.identity(ref);
  // Records from before identities were kept have none: the path alone decides.
  return ep.netnsId === '' ? now === undefined : now !== ep.netnsId;
}
