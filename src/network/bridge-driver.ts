/**
 * Driver `bridge`, the seed article's parts 2 and 3: a Linux bridge holding the gateway address,
 * every container's host-side veth enslaved to it, a default route via the gateway inside.
 * @module
 */
import { formatIp } from '../inet/ip.js';
import { derivedMac, formatMac } from '../inet/mac.js';
import { ConflictError, NetlinkError, NotFoundError } from '../errors.js';
import type { NetworkRecord, SubnetRecord } from '../state/records.js';
import type { Attachment, AttachResult, DriverContext, HostSysctl, NetworkDriver } from './driver.js';
import type { Rollback } from './rollback.js';
import { checkHostEnd, createVeth, defaultRoutes, prepareContainerSide, removeHostEnd, restoreHostEnd } from './veth.js';

function bridgeName(net: NetworkRecord): string {
  if (net.bridge === null) throw new TypeError(`network "${net.name}" has no bridge`);
  return net.bridge;
}

/**
 * Whether the bridge holds the subnet's gateway with the subnet's prefix. One address is asked
 * for, not every address listed: each container's host end has an IPv6 link-local address, and
 * this runs on every connect.
 */
function hasGateway(ctx: DriverContext, bridge: number, s: SubnetRecord): boolean {
  return ctx.host.addrGet({ index: bridge, ip: s.gateway })?.prefix === s.subnet.prefix;
}

export class BridgeDriver implements NetworkDriver {
  async setup(ctx: DriverContext, net: NetworkRecord, rb: Rollback): Promise<void> {
    const bridge = this.#ensureBridge(ctx, net, rb);
    await ctx.step('bridge');
    for (const s of net.subnets) {
      if (!hasGateway(ctx, bridge, s)) ctx.host.addrAdd({ index: bridge, ip: s.gateway, prefix: s.subnet.prefix, noDad: true });
    }
    for (const sysctl of this.sysctls(net)) ctx.sysctl(sysctl);
    await ctx.step('gateway-address');
  }

  sysctls(net: NetworkRecord): HostSysctl[] {
    const name = bridgeName(net);
    const families = new Set(net.subnets.map((s) => s.subnet.family));
    const out: HostSysctl[] = [];
    // The DNATed packet keeps its loopback source until postrouting masquerades it, and the
    // kernel drops it as martian unless this is set.
    if (families.has(4)) out.push({ key: `net/ipv4/conf/${name}/route_localnet`, value: '1', why: 'published ports answer clients on 127.0.0.1' });
    // The host solicits a container's neighbour entry for forwarded IPv6 only from a link-local
    // address that has passed DAD, which starts when the first port comes up and takes a second
    // or two: until then IPv6 routed to the first container is lost. Nothing else holds the
    // bridge's own link-local address, so DAD has nothing to find.
    if (families.has(6)) out.push({ key: `net/ipv6/conf/${name}/accept_dad`, value: '0', why: 'IPv6 reaches the first container at once, not after duplicate address detection' });
    return out;
  }

  /**
   * The network's bridge, up and marked: the one there is, or one made now under its pending name
   * and then renamed, marked and brought up in one request, so the final name never exists unmarked.
   */
  #ensureBridge(ctx: DriverContext, net: NetworkRecord, rb: Rollback): number {
    const name = bridgeName(net);
    const pending = ctx.links.pendingName(net.id);
    const existing = ctx.host.linkGet(name);
    if (existing !== undefined) {
      if (!ctx.links.owns(existing, net.id) || existing.kind !== 'bridge') {
        throw new ConflictError(`bridge name "${name}" of network "${net.name}" is used by an interface ctnet did not make for it`);
      }
      if (!existing.up) ctx.host.linkSet(existing.index, { up: true });
      return existing.index;
    }
    let index = ctx.host.linkGet(pending)?.index;
    if (index === undefined) {
      // A fixed MAC: otherwise the bridge takes the lowest MAC of its ports and changes it as they
      // come and go. Derived from the network: a bridge made again after someone deleted it has
      // the gateway MAC the containers' neighbour caches hold, so they reach it at once.
      ctx.host.linkAdd({ kind: 'bridge', name: pending, mtu: net.mtu, mac: formatMac(derivedMac(`bridge ${net.id}`)) });
      rb.push(`bridge ${name}`, async () => {
        await ctx.links.removeOwned(ctx.host, net.id, [name, pending]);
      });
      index = ctx.host.linkGet(pending)?.index;
      if (index === undefined) throw new NotFoundError(`bridge ${pending} vanished right after it was created`);
    }
    ctx.links.markLink(ctx.host, index, net.id, { ...(name === pending ? {} : { name }), up: true });
    return index;
  }

  check(ctx: DriverContext, net: NetworkRecord): string[] {
    const name = bridgeName(net);
    const link = ctx.host.linkGet(name);
    if (link === undefined) return [`bridge ${name} is missing`];
    if (!ctx.links.owns(link, net.id)) return [`bridge ${name} is not the one ctnet made (alias "${link.alias ?? ''}")`];
    const problems = link.up ? [] : [`bridge ${name} is down`];
    for (const s of net.subnets) {
      if (!hasGateway(ctx, link.index, s)) problems.push(`gateway address ${formatIp(s.gateway)}/${s.subnet.prefix} is missing on bridge ${name}`);
    }
    return problems;
  }

  async teardown(ctx: DriverContext, net: NetworkRecord): Promise<void> {
    await ctx.links.removeOwned(ctx.host, net.id, [bridgeName(net), ctx.links.pendingName(net.id)]);
  }

  interfacePrefix(_family: 4 | 6, subnetPrefix: number): number {
    return subnetPrefix;
  }

  async attach(ctx: DriverContext, net: NetworkRecord, att: Attachment, rb: Rollback): Promise<AttachResult> {
    const name = bridgeName(net);
    const bridge = ctx.host.linkGet(name);
    if (bridge === undefined) {
      throw new NotFoundError(`bridge ${name} of network "${net.name}" is missing; remove and create the network again`);
    }
    let port: number;
    try {
      port = await createVeth(ctx, att, { mtu: net.mtu, masterIndex: bridge.index }, rb);
    } catch (err) {
      // The kernel numbers bridge ports with 10 bits and answers EXFULL when none is left.
      if (err instanceof NetlinkError && err.errnoName === 'EXFULL') {
        throw new ConflictError(`bridge ${name} of network "${net.name}" is full: a Linux bridge takes at most 1023 ports`, { cause: err });
      }
      throw err;
    }
    // A container reaching its own published port through the host comes back in on the port it
    // left by; with br_netfilter loaded the bridge drops that unless the port is in hairpin mode.
    ctx.host.bridgePortSet(port, { hairpin: true });
    const index = prepareContainerSide(att);
    for (const a of att.addresses) att.container.addrAdd({ index, ip: a.ip, prefix: a.subnet.prefix, noDad: true });
    await ctx.step('address');
    for (const a of att.addresses) {
      if (a.defaultRoute) att.container.routeAdd({ family: a.ip.family, gateway: a.gateway, oifIndex: index });
    }
    await ctx.step('route');
    return { routes: defaultRoutes(att) };
  }

  checkAttachment(ctx: DriverContext, net: NetworkRecord, ep: { id: string; hostIfname: string }): string[] {
    const bridge = ctx.host.linkGet(bridgeName(net));
    return checkHostEnd(ctx, ep, bridge?.index ?? -1);
  }

  repairAttachment(ctx: DriverContext, net: NetworkRecord, ep: { id: string; hostIfname: string }): void {
    const bridge = ctx.host.linkGet(bridgeName(net));
    const link = restoreHostEnd(ctx, ep);
    if (bridge === undefined || link === undefined || link.masterIndex === bridge.index) return;
    // Its bridge was deleted (and made again): a port of the new one, in hairpin mode as attach sets it.
    ctx.host.linkSet(link.index, { masterIndex: bridge.index });
    ctx.host.bridgePortSet(link.index, { hairpin: true });
  }

  async detach(ctx: DriverContext, _net: NetworkRecord, ep: { id: string; hostIfname: string }): Promise<void> {
    await removeHostEnd(ctx, ep);
  }
}
