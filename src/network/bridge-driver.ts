/**
 * Driver `bridge`, the seed article's parts 2 and 3: a Linux bridge holding the gateway address,
 * every container's host-side veth enslaved to it, a default route via the gateway inside.
 * @module
 */
import { parseCidr } from '../inet/cidr.js';
import { parseIp } from '../inet/ip.js';
import { formatMac, randomMac } from '../inet/mac.js';
import { ConflictError, NetlinkError, NotFoundError } from '../errors.js';
import type { NetworkRecord } from '../state/records.js';
import type { Attachment, AttachResult, DriverContext, NetworkDriver } from './driver.js';
import type { Rollback } from './rollback.js';
import { addressText, createVeth, defaultRoutes, prepareContainerSide } from './veth.js';

function bridgeName(net: NetworkRecord): string {
  if (net.bridge === null) throw new TypeError(`network "${net.name}" has no bridge`);
  return net.bridge;
}

export class BridgeDriver implements NetworkDriver {
  async setup(ctx: DriverContext, net: NetworkRecord, rb: Rollback): Promise<void> {
    const name = bridgeName(net);
    // A fixed MAC: otherwise the bridge takes the lowest MAC of its ports and changes it as they come and go.
    ctx.host.linkAdd({ kind: 'bridge', name, mtu: net.mtu, mac: formatMac(randomMac()), up: true });
    rb.push(`bridge ${name}`, () => ctx.host.linkRemove(name));
    await ctx.step('bridge');
    const bridge = ctx.host.linkGet(name);
    if (bridge === undefined) throw new NotFoundError(`bridge ${name} vanished right after it was created`);
    for (const s of net.subnets) {
      const cidr = parseCidr(s.subnet);
      ctx.host.addrAdd({ index: bridge.index, ip: parseIp(s.gateway), prefix: cidr.prefix, noDad: true });
      // Published ports answer 127.0.0.1 on the host: the DNATed packet keeps its loopback source
      // until postrouting masquerades it, and the kernel drops it as martian unless this is set.
      if (cidr.family === 4) ctx.sysctl(`net/ipv4/conf/${name}/route_localnet`, '1');
      // The host solicits a container's neighbour entry for forwarded IPv6 only from a link-local
      // address that has passed DAD, which starts when the first port comes up and takes a second
      // or two: until then IPv6 routed to the first container is lost. Nothing else holds the
      // bridge's own link-local address, so DAD has nothing to find.
      if (cidr.family === 6) ctx.sysctl(`net/ipv6/conf/${name}/accept_dad`, '0');
    }
    await ctx.step('gateway-address');
  }

  teardown(ctx: DriverContext, net: NetworkRecord): void {
    ctx.host.linkRemove(bridgeName(net));
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
    for (const a of att.addresses) att.container.addrAdd({ index, ip: a.ip, prefix: a.prefix, noDad: true });
    await ctx.step('address');
    for (const a of att.addresses) {
      if (a.defaultRoute) att.container.routeAdd({ family: a.ip.family, gateway: a.gateway, oifIndex: index });
    }
    await ctx.step('route');
    return { addresses: att.addresses.map((a) => addressText(a)), routes: defaultRoutes(att) };
  }

  detach(ctx: DriverContext, _net: NetworkRecord, hostIfname: string): void {
    ctx.host.linkRemove(hostIfname);
  }
}
