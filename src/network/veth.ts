/**
 * The container half of every driver: one veth pair created from the host with its peer placed
 * straight into the container namespace, then the container side configured through its own handle.
 * @module
 */
import { NotFoundError } from '../errors.js';
import { familyBits } from '../inet/ip.js';
import type { Rtnl } from '../netlink/rtnl/handle.js';
import type { LinkInfo } from '../netlink/rtnl/link.js';
import type { AttachAddress, AttachedRoute, Attachment, DriverContext } from './driver.js';
import type { Rollback } from './rollback.js';

export interface VethOptions {
  mtu: number;
  /** Enslave the host end to this bridge at creation. */
  masterIndex?: number;
}

/**
 * Create the pair in one RTM_NEWLINK: host end named, enslaved and up; peer named, addressed by MAC,
 * already inside the container. Then mark the host end as ctnet's. Returns the host end's index.
 */
export async function createVeth(ctx: DriverContext, att: Attachment, options: VethOptions, rb: Rollback): Promise<number> {
  ctx.host.linkAdd({
    kind: 'veth',
    name: att.hostIfname,
    mtu: options.mtu,
    up: true,
    ...(options.masterIndex === undefined ? {} : { masterIndex: options.masterIndex }),
    peer: { name: att.ifname, mtu: options.mtu, mac: att.mac, netnsFd: att.netns.fd },
  });
  rb.push(`veth ${att.hostIfname}`, async () => {
    await ctx.links.removeOwned(ctx.host, att.id, [att.hostIfname]);
  });
  const host = ctx.host.linkGet(att.hostIfname);
  if (host === undefined) throw new NotFoundError(`veth ${att.hostIfname} vanished right after it was created`);
  ctx.links.markLink(ctx.host, host.index, att.id);
  await ctx.step('veth');
  return host.index;
}

/** What a container's host end lacks: present, ctnet's, up (and enslaved to `masterIndex`). */
export function checkHostEnd(ctx: DriverContext, ep: { id: string; hostIfname: string }, masterIndex?: number): string[] {
  const link = ctx.host.linkGet(ep.hostIfname);
  if (link === undefined) return [`host interface ${ep.hostIfname} is missing`];
  if (!ctx.links.owns(link, ep.id)) return [`host interface ${ep.hostIfname} is not the one ctnet made (alias "${link.alias ?? ''}")`];
  const problems: string[] = [];
  if (!link.up) problems.push(`host interface ${ep.hostIfname} is down`);
  if (masterIndex !== undefined && link.masterIndex !== masterIndex) problems.push(`host interface ${ep.hostIfname} is not a port of its bridge`);
  return problems;
}

/** The host end, up again if someone set it down; undefined when it is gone or not ctnet's. */
export function restoreHostEnd(ctx: DriverContext, ep: { id: string; hostIfname: string }): LinkInfo | undefined {
  const link = ctx.host.linkGet(ep.hostIfname);
  if (link === undefined || !ctx.links.owns(link, ep.id)) return undefined;
  if (!link.up) ctx.host.linkSet(link.index, { up: true });
  return link;
}

/** Delete a container's host end (its peer goes with it), if it is the one ctnet made. */
export async function removeHostEnd(ctx: DriverContext, ep: { id: string; hostIfname: string }): Promise<void> {
  await ctx.links.removeOwned(ctx.host, ep.id, [ep.hostIfname]);
}

/** Bring up the container end; returns its index. */
export function prepareContainerSide(att: Attachment): number {
  const link = att.container.linkGet(att.ifname);
  if (link === undefined) throw new NotFoundError(`interface ${att.ifname} did not appear in container "${att.netns.ref.spec}"`);
  att.container.linkSet(link.index, { up: true });
  return link.index;
}

/** The host-route prefix of an address's family: /32 or /128. */
export function hostPrefix(a: AttachAddress): number {
  return familyBits(a.ip.family);
}

/** The default routes an attachment adds, as results report them (`0.0.0.0/0` via the gateway). */
export function defaultRoutes(att: Attachment): AttachedRoute[] {
  return att.addresses
    .filter((a) => a.defaultRoute)
    .map((a) => ({ dst: { family: a.ip.family, network: 0n, prefix: 0 }, gateway: a.gateway }));
}

/**
 * Bring up the container's loopback (a fresh namespace has it down). This is the last step of a
 * connect on purpose: the kernel adds 127.0.0.1 to lo the first time it goes up and keeps it, so
 * it could not be undone by a rollback; and once connected, the namespace's other users may rely
 * on it, so a disconnect leaves it up.
 */
export function ensureLoopbackUp(container: Rtnl): void {
  const lo = container.linkGet('lo');
  if (lo !== undefined && !lo.up) container.linkSet(lo.index, { up: true });
}
