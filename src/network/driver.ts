/**
 * The network driver contract: what differs between a bridge network and a point-to-point one.
 * The engine validates input, keeps state and the firewall; a driver only touches links,
 * addresses and routes, through the handles it is given.
 * @module
 */
import type { Cidr } from '../inet/cidr.js';
import type { IpAddress } from '../inet/ip.js';
import type { Rtnl } from '../netlink/rtnl/handle.js';
import type { ContainerNetns } from '../netns/netns.js';
import type { NetworkRecord } from '../state/records.js';
import type { LinkOwnership } from './ownership.js';
import type { Rollback } from './rollback.js';

export interface DriverContext {
  /** rtnetlink handle in the host namespace (the one ctnet runs in). */
  host: Rtnl;
  /** Set a sysctl of the host namespace (`net/ipv4/conf/br0/route_localnet`). */
  sysctl(sysctl: HostSysctl): void;
  /** Marks links as ctnet's and deletes only links so marked. */
  links: LinkOwnership;
  /** Marks the end of a step: tracing, and the point where tests inject a failure. */
  step(name: string): Promise<void>;
}

export interface AttachAddress {
  ip: IpAddress;
  /** The network's subnet the address is in. */
  subnet: Cidr;
  gateway: IpAddress;
  /** Add the default route via this gateway (the container has none for this family yet). */
  defaultRoute: boolean;
}

export interface Attachment {
  /** The endpoint id: the host end is named and marked after it. */
  id: string;
  netns: ContainerNetns;
  /** rtnetlink handle inside the container's namespace. */
  container: Rtnl;
  ifname: string;
  hostIfname: string;
  mac: string;
  addresses: AttachAddress[];
  /** Ports will be published: host-originated traffic from 127.0.0.1 must be routable to it. */
  publishes: boolean;
}

/** A host sysctl a network needs: its `/proc/sys` path, the value it needs, and why. */
export interface HostSysctl {
  /** Path under /proc/sys: `net/ipv4/conf/br0/route_localnet`. */
  key: string;
  value: string;
  why: string;
}

/** What decides the sysctls of one endpoint's host end. */
export interface HostEnd {
  hostIfname: string;
  /** The IP families of the endpoint's addresses. */
  families: readonly (4 | 6)[];
  /** Whether the endpoint publishes ports. */
  publishes: boolean;
}

/** A route an attachment added in the container, as CNI reports it (`0.0.0.0/0` via the gateway). */
export interface AttachedRoute {
  dst: Cidr;
  gateway: IpAddress;
}

/** What an attachment configured beyond its addresses, as it is reported. */
export interface AttachResult {
  routes: AttachedRoute[];
}

export interface NetworkDriver {
  /**
   * Make the network's own kernel objects, or finish what is there (a create that was killed, a
   * bridge someone deleted): running it again converges. Registers the undo of what it made on `rb`.
   */
  setup(ctx: DriverContext, net: NetworkRecord, rb: Rollback): Promise<void>;
  /**
   * The host sysctls of the links ctnet makes for the network (its bridge, or the host ends in
   * `hostEnds`), as setup and attach set them. Only computes.
   */
  sysctls(net: NetworkRecord, hostEnds: readonly HostEnd[]): HostSysctl[];
  /** What the network's own kernel objects lack, one line each; empty when complete. Only reads. */
  check(ctx: DriverContext, net: NetworkRecord): string[];
  /** Remove the network's kernel objects; what is already gone counts as done. */
  teardown(ctx: DriverContext, net: NetworkRecord): Promise<void>;
  /**
   * The prefix length a container's address gets on its interface: the subnet's on a bridge, a
   * host prefix (/32, /128) on a point-to-point link. The record keeps what the kernel will have.
   */
  interfacePrefix(family: 4 | 6, subnetPrefix: number): number;
  /** Connect one container; register each undo on `rb`. */
  attach(ctx: DriverContext, net: NetworkRecord, att: Attachment, rb: Rollback): Promise<AttachResult>;
  /** What one attachment's host side lacks, one line each; empty when complete. Only reads. */
  checkAttachment(ctx: DriverContext, net: NetworkRecord, ep: { id: string; hostIfname: string }): string[];
  /**
   * Put an attachment's host end back as `attach` left it after someone changed it: up, and a
   * port of the network's bridge again (a host end survives the deletion of its bridge,
   * unenslaved). A host end that is gone or not ctnet's is left alone. Run after `setup`.
   */
  repairAttachment(ctx: DriverContext, net: NetworkRecord, ep: { id: string; hostIfname: string }): void;
  /** Disconnect one container; a missing interface counts as done. */
  detach(ctx: DriverContext, net: NetworkRecord, ep: { id: string; hostIfname: string }): Promise<void>;
}
