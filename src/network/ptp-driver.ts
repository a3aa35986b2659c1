/**
 * Driver `ptp`, the seed article's part 1 made general: one veth per container and no bridge. The
 * host end holds the gateway address as a host address, the host routes each container address to
 * its veth, and the container reaches everything through the gateway (the CNI `ptp` model).
 * @module
 */
import type { NetworkRecord } from '../state/records.js';
import type { Attachment, AttachResult, DriverContext, HostEnd, HostSysctl, NetworkDriver } from './driver.js';
import type { Rollback } from './rollback.js';
import { cidrNetwork } from '../inet/cidr.js';
import { familyBits } from '../inet/ip.js';
import { checkHostEnd, createVeth, defaultRoutes, hostPrefix, prepareContainerSide, removeHostEnd, restoreHostEnd } from './veth.js';

export class PtpDriver implements NetworkDriver {
  async setup(): Promise<void> {
    // Nothing network-wide lives in the kernel: each container brings its own link.
  }

  sysctls(_net: NetworkRecord, hostEnds: readonly HostEnd[]): HostSysctl[] {
    return hostEnds.flatMap((end) => [
      // Published ports answer 127.0.0.1 on the host (see the bridge driver).
      ...(end.publishes && end.families.includes(4)
        ? [{ key: `net/ipv4/conf/${end.hostIfname}/route_localnet`, value: '1', why: 'published ports answer clients on 127.0.0.1' }]
        : []),
      // Traffic the host forwards to the container needs a neighbour solicitation from the host
      // end, and the kernel sends one only from a link-local address that has passed DAD, about a
      // second after the link comes up: until then forwarded IPv6 to a new container is lost. A
      // veth has exactly one peer, so there is nothing for DAD to find.
      ...(end.families.includes(6)
        ? [{ key: `net/ipv6/conf/${end.hostIfname}/accept_dad`, value: '0', why: 'IPv6 reaches the container at once, not after duplicate address detection' }]
        : []),
    ]);
  }

  check(): string[] {
    return [];
  }

  async teardown(): Promise<void> {
    // Nothing network-wide to take down.
  }

  interfacePrefix(family: 4 | 6): number {
    return familyBits(family);
  }

  async attach(ctx: DriverContext, net: NetworkRecord, att: Attachment, rb: Rollback): Promise<AttachResult> {
    const hostIndex = await createVeth(ctx, att, { mtu: net.mtu }, rb);
    // Before the peer goes up: accept_dad must be 0 before the host end's link-local address starts DAD.
    const hostEnd = { hostIfname: att.hostIfname, families: att.addresses.map((a) => a.ip.family), publishes: att.publishes };
    for (const sysctl of this.sysctls(net, [hostEnd])) ctx.sysctl(sysctl);
    for (const a of att.addresses) {
      // The same gateway address sits on every host end; as a /32 (/128) it adds no subnet route.
      ctx.host.addrAdd({ index: hostIndex, ip: a.gateway, prefix: hostPrefix(a), noDad: true });
      ctx.host.routeAdd({ family: a.ip.family, dst: { ip: a.ip, prefix: hostPrefix(a) }, oifIndex: hostIndex, scope: 'link' });
    }
    await ctx.step('host-route');
    const index = prepareContainerSide(att);
    for (const a of att.addresses) att.container.addrAdd({ index, ip: a.ip, prefix: hostPrefix(a), noDad: true });
    await ctx.step('address');
    for (const a of att.addresses) {
      att.container.routeAdd({ family: a.ip.family, dst: { ip: a.gateway, prefix: hostPrefix(a) }, oifIndex: index, scope: 'link' });
      if (a.defaultRoute) {
        att.container.routeAdd({ family: a.ip.family, gateway: a.gateway, oifIndex: index });
      } else {
        // Not the first network: reach only this network's subnet through it.
        att.container.routeAdd({ family: a.ip.family, dst: { ip: cidrNetwork(a.subnet), prefix: a.subnet.prefix }, gateway: a.gateway, oifIndex: index });
      }
    }
    await ctx.step('route');
    const routes = att.addresses.filter((a) => !a.defaultRoute).map((a) => ({ dst: a.subnet, gateway: a.gateway }));
    return { routes: [...defaultRoutes(att), ...routes] };
  }

  checkAttachment(ctx: DriverContext, _net: NetworkRecord, ep: { id: string; hostIfname: string }): string[] {
    return checkHostEnd(ctx, ep);
  }

  repairAttachment(ctx: DriverContext, _net: NetworkRecord, ep: { id: string; hostIfname: string }): void {
    restoreHostEnd(ctx, ep);
  }

  async detach(ctx: DriverContext, _net: NetworkRecord, ep: { id: string; hostIfname: string }): Promise<void> {
    await removeHostEnd(ctx, ep);
  }
}
