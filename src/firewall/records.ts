/**
 * What a firewall driver is told about the engine's records: a network's subnets and mode, an
 * endpoint's published ports with the container address each one reaches.
 * @module
 */
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import type { FirewallEndpoint, FirewallNetwork, PortMapping } from './driver.js';

/** The firewall's view of a network. */
export function firewallNetwork(net: NetworkRecord): FirewallNetwork {
  return {
    id: net.id,
    name: net.name,
    subnets: net.subnets.map((s) => s.subnet),
    mode: net.internal ? 'internal' : net.nat ? 'nat' : 'routed',
  };
}

/**
 * What the firewall needs to publish an endpoint's ports: each port with the endpoint's address
 * of its family.
 * @throws {TypeError} when the endpoint has no address of a port's family (the engine never
 *   records such a port)
 */
export function firewallEndpoint(ep: Pick<EndpointRecord, 'id' | 'networkId' | 'addresses' | 'ports'>): FirewallEndpoint {
  const byFamily = new Map(ep.addresses.map((a) => [a.ip.family, a.ip] as const));
  return {
    id: ep.id,
    networkId: ep.networkId,
    ports: ep.ports.map((p) => {
      const containerIp = byFamily.get(p.family);
      if (containerIp === undefined) throw new TypeError(`endpoint ${ep.id} has no IPv${p.family} address for port ${p.hostPort}`);
      const mapping: PortMapping = { family: p.family, protocol: p.protocol, hostPort: p.hostPort, containerIp, containerPort: p.containerPort };
      // Set only when there is one (exactOptionalPropertyTypes); no object spread per port.
      if (p.hostIp !== null) mapping.hostIp = p.hostIp;
      return mapping;
    }),
  };
}
