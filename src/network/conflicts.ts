/**
 * What a new network or a published port would collide with, refused before anything changes:
 * ctnet's own networks (names, bridges, subnets), the host's interfaces and routes, links a lost
 * state database left behind, and host addresses and sockets a port needs. The probes are in
 * `host-probes.ts`; this module decides what a collision means and how it is worded.
 * @module
 */
import { ConflictError, InvalidConfigError, StateError } from '../errors.js';
import { cidrOverlaps, formatCidr } from '../inet/cidr.js';
import { formatIp } from '../inet/ip.js';
import type { Rtnl } from '../netlink/rtnl/handle.js';
import type { NetworkRecord, PortRecord } from '../state/records.js';
import { describePort } from '../state/store.js';
import type { NetworkPlan } from './config.js';
import { boundSocketFor, indexSockets, localAddressTest, overlappingRoute } from './host-probes.js';
import type { Kernel } from './kernel.js';
import type { LinkOwnership } from './ownership.js';

/** Refuse a name, bridge or subnet that another ctnet network already has. */
export function checkStateConflicts(plan: NetworkPlan, networks: readonly NetworkRecord[]): void {
  for (const other of networks) {
    if (other.name === plan.name) throw new ConflictError(`network "${plan.name}" already exists`);
    if (plan.bridge !== null && other.bridge === plan.bridge) {
      throw new ConflictError(`bridge "${plan.bridge}" is already used by network "${other.name}"`);
    }
    for (const mine of plan.subnets) {
      for (const theirs of other.subnets) {
        if (cidrOverlaps(mine.subnet, theirs.subnet)) {
          throw new ConflictError(`subnet "${formatCidr(mine.subnet)}" overlaps subnet "${formatCidr(theirs.subnet)}" of network "${other.name}"`);
        }
      }
    }
  }
}

/** Refuse subnets the host already routes and bridge names an interface already has. */
export function checkHostConflicts(host: Rtnl, plan: NetworkPlan, networks: readonly NetworkRecord[]): void {
  const { bridge } = plan;
  if (bridge !== null && host.linkGet(bridge) !== undefined) {
    const owner = networks.find((n) => n.bridge === bridge);
    throw new ConflictError(
      owner === undefined ? `bridge name "${bridge}" is already used by an existing interface` : `bridge "${bridge}" is already used by network "${owner.name}"`,
    );
  }
  for (const { subnet } of plan.subnets) {
    const route = overlappingRoute(host, subnet);
    if (route?.dst !== undefined) {
      throw new ConflictError(`subnet "${formatCidr(subnet)}" of network "${plan.name}" overlaps the host route ${formatIp(route.dst.ip)}/${route.dst.prefix}`);
    }
  }
}

/**
 * Refuse to start afresh over kernel objects this state directory made, for a state database
 * (`dbPath`) that holds no network: it has been deleted or replaced, and creating networks now
 * would collide with those links (names, routes, firewall) and leave them orphaned for good.
 */
export function checkForgottenLinks(host: Rtnl, links: LinkOwnership, dbPath: string): void {
  const forgotten = host.linkList().filter((l) => links.idOf(l) !== undefined);
  if (forgotten.length === 0) return;
  throw new StateError(
    `the state database ${dbPath} holds no networks, but ${forgotten.length} interface(s) that ctnet made with this state directory exist: ` +
      `${forgotten.map((l) => l.name).join(', ')}; the database was deleted or replaced. Restore it, or delete those interfaces (ip link del NAME) before creating networks`,
  );
}

/** Refuse ports that cannot be published: an internal network, a foreign host address, a bound socket. */
export function checkPublishable(kernel: Pick<Kernel, 'host' | 'hostSockets'>, net: NetworkRecord, ports: readonly PortRecord[]): void {
  const [first] = ports;
  if (first === undefined) return;
  if (net.internal) throw new InvalidConfigError(`cannot publish port ${describePort(first)}: network "${net.name}" is internal`);
  const isLocal = localAddressTest(kernel.host);
  for (const port of ports) {
    if (port.hostIp !== null && !isLocal(port.hostIp)) {
      throw new InvalidConfigError(`cannot publish port ${describePort(port)}: ${formatIp(port.hostIp)} is not an address of this host`);
    }
  }
  const sockets = indexSockets(kernel.hostSockets(new Set(ports.map((p) => p.protocol))));
  for (const port of ports) {
    if (boundSocketFor(port, sockets) !== undefined) {
      throw new ConflictError(`port ${describePort(port)} is already in use on the host by a listening socket`);
    }
  }
}
