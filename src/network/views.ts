/**
 * The engine's records as its callers see them: every address, subnet and port formatted as text,
 * once, on the way out. The one place where a record becomes a {@link Network} or an
 * {@link Endpoint}; the CLI and the CNI plugin print these, the agent sends them as JSON.
 * @module
 */
import { formatCidr, formatIpWithPrefix } from '../inet/cidr.js';
import { formatIp, ipFormatter } from '../inet/ip.js';
import type { EndpointRecord, NetworkRecord, PortRecord } from '../state/records.js';
import type { AttachedRoute } from './driver.js';
import type { AttachedEndpoint, Endpoint, EndpointRoute, Network, PublishedPort } from './types.js';

/** A network record as callers see it. */
export function networkView(rec: NetworkRecord): Network {
  return {
    id: rec.id,
    name: rec.name,
    driver: rec.driver,
    bridge: rec.bridge,
    mtu: rec.mtu,
    nat: rec.nat,
    internal: rec.internal,
    subnets: rec.subnets.map((s) => ({ subnet: formatCidr(s.subnet), gateway: formatIp(s.gateway) })),
    status: rec.status,
    created: rec.created,
  };
}

/** An endpoint record on its network, as callers see it. */
export function endpointView(rec: EndpointRecord, net: NetworkRecord): Endpoint {
  return {
    id: rec.id,
    network: net.name,
    container: rec.container,
    netns: rec.netns,
    netnsId: rec.netnsId,
    ifname: rec.ifname,
    hostIfname: rec.hostIfname,
    mac: rec.mac,
    addresses: rec.addresses.map(formatIpWithPrefix),
    gateways: net.subnets.map((s) => formatIp(s.gateway)),
    ports: publishedPorts(rec.ports),
    owner: rec.owner,
    status: rec.status,
    created: rec.created,
  };
}

/** What `connect` returns: the endpoint, with the routes its driver added in the container. */
export function attachedView(endpoint: Endpoint, routes: readonly AttachedRoute[]): AttachedEndpoint {
  return { ...endpoint, routes: routes.map((r): EndpointRoute => ({ dst: formatCidr(r.dst), gateway: formatIp(r.gateway) })) };
}

/** Published ports as callers see them. */
export function publishedPorts(ports: readonly PortRecord[]): PublishedPort[] {
  const text = ipFormatter();
  return ports.map((p) => ({ family: p.family, protocol: p.protocol, hostIp: p.hostIp === null ? null : text(p.hostIp), hostPort: p.hostPort, containerPort: p.containerPort }));
}
