/**
 * ctnet: container networking for Linux. The library's only entry point; everything the CLI and
 * the CNI plugin do goes through these exports.
 * @module
 */
export { Ctnet, DEFAULT_STATE_DIR } from './ctnet.js';
export type { CtnetEvents, CtnetOptions, FirewallScope, NetworkDetails, NetworkRepair, RepairOptions, RepairReport } from './ctnet.js';
export { firstFreeEthName } from './network/connect-options.js';
export type {
  AttachedEndpoint,
  ConnectOptions,
  Endpoint,
  EndpointRoute,
  EndpointSelector,
  Network,
  NetworkSpec,
  NetworkSubnet,
  PortSpec,
  PublishedPort,
  PublishSpec,
  SysctlChange,
  SysctlState,
} from './network/types.js';
export { describeGcReport } from './network/gc-report.js';
export { describeSysctlChange } from './network/sysctl-change.js';
export type { GcAction, GcActionKind, GcReport } from './network/gc-report.js';
export { parsePortSpec } from './network/ports.js';
export { DRIVER_NAMES, driverNamesText, isDriverName } from './network/driver-names.js';
export type { DriverName } from './network/driver-names.js';
export {
  createNamedNetns,
  deleteNamedNetns,
  execInNetns,
  listNamedNetns,
  Netns,
  NETNS_RUN_DIR,
  parseNetnsRef,
} from './netns/netns.js';
export type { NetnsRef } from './netns/netns.js';
export { HostKernel } from './network/kernel.js';
export type { Kernel } from './network/kernel.js';
export type { HostSocket } from './network/host-probes.js';
export type { ContainerNetns, NetnsAccess, SysctlAccess } from './netns/netns.js';
export type { FirewallDriver, FirewallEndpoint, FirewallNetwork, FirewallOwners, PortMapping } from './firewall/driver.js';
export { NftFirewallDriver } from './firewall/nft/nft-driver.js';
export type { NftFirewallDriverOptions } from './firewall/nft/nft-driver.js';
export { ForeignFirewall } from './firewall/foreign.js';
export { describeHostChange, type HostChange } from './firewall/host-change.js';
export type { ForeignDrop, ForeignFirewallOptions, ForeignReport } from './firewall/foreign.js';
export type { ForeignFirewallName } from './firewall/foreign-rules.js';
export { runDoctor } from './doctor/run.js';
export type { DoctorOptions } from './doctor/run.js';
export type { CheckStatus, DoctorCheck, DoctorReport } from './doctor/checks.js';
export { NoneFirewallDriver } from './firewall/none-driver.js';
export { RtnlHandle } from './netlink/rtnl/handle.js';
export type { Rtnl, RtnlHandleOptions } from './netlink/rtnl/handle.js';
export type { BridgeLink, BridgePortChange, DummyLink, Link, LinkChange, LinkInfo, VethLink, VethPeer } from './netlink/rtnl/link.js';
export type { Address, AddressInfo } from './netlink/rtnl/addr.js';
export type { Route, RouteInfo } from './netlink/rtnl/route.js';
export type { Neighbour, NeighbourInfo } from './netlink/rtnl/neigh.js';
export { formatIp, parseIp } from './inet/ip.js';
export type { IpAddress } from './inet/ip.js';
export { cidrContains, cidrOverlaps, formatCidr, parseCidr, withoutPrefix } from './inet/cidr.js';
export type { Cidr } from './inet/cidr.js';
export {
  ConflictError,
  CtnetError,
  errorMessage,
  HostError,
  InvalidConfigError,
  IptablesError,
  IpamExhaustedError,
  isAlreadyExists,
  isNotFound,
  NetlinkError,
  NftError,
  NotFoundError,
  StateError,
  SystemError,
  TeardownError,
  TimeoutError,
} from './errors.js';
export type { CtnetErrorCode } from './errors.js';
