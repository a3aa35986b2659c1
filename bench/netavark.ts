/**
 * netavark 1.4 driven the way podman 4.x drives it: `netavark --config DIR setup NETNS_PATH` and
 * `teardown` with the network options JSON on stdin. Podman allocates addresses itself and passes
 * them as `static_ips`, so this does too.
 * @module
 */
import { NETAVARK } from './tools.js';
import { runSync } from './util.js';

export interface NetavarkNetwork {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
}

export interface NetavarkPort {
  hostPort: number;
  containerPort: number;
}

/** The options JSON for one container on one network (podman 4.x's `NetworkOptions`). */
export function networkOptions(net: NetavarkNetwork, containerId: string, ip: string, ports: readonly NetavarkPort[] = []): string {
  return JSON.stringify({
    container_id: containerId,
    container_name: containerId,
    networks: { [net.name]: { static_ips: [ip], interface_name: 'eth0' } },
    network_info: {
      [net.name]: {
        name: net.name,
        // podman's network ids are 64 hex digits
        id: Buffer.from(net.name.padEnd(32, '0')).toString('hex').slice(0, 64),
        driver: 'bridge',
        network_interface: net.bridge,
        subnets: [{ subnet: net.subnet, gateway: net.gateway }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
      },
    },
    port_mappings: ports.map((p) => ({ host_ip: '', container_port: p.containerPort, host_port: p.hostPort, range: 1, protocol: 'tcp' })),
  });
}

export class Netavark {
  readonly #configDir: string;
  readonly firewall: string;

  constructor(configDir: string, firewall: string) {
    this.#configDir = configDir;
    this.firewall = firewall;
  }

  #run(verb: 'setup' | 'teardown', netnsPath: string, options: string): string {
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', NETAVARK_FW: this.firewall };
    const r = runSync(NETAVARK, ['--config', this.#configDir, verb, netnsPath], { env, input: options });
    if (r.status !== 0) throw new Error(`netavark ${verb} ${netnsPath} (NETAVARK_FW=${this.firewall}) exited with ${r.status}: ${(r.stdout + r.stderr).trim()}`);
    return r.stdout;
  }

  setup(netnsPath: string, options: string): void {
    this.#run('setup', netnsPath, options);
  }

  teardown(netnsPath: string, options: string): void {
    this.#run('teardown', netnsPath, options);
  }
}

/**
 * The firewall driver to use: nftables where this netavark has it (1.4 answers "nftables support
 * presently not available"), else iptables. `probe` runs one setup with the given driver and
 * returns its error text, or undefined when it worked.
 */
export function chooseFirewall(probe: (fw: string) => string | undefined): { firewall: string; why: string } {
  const nft = probe('nftables');
  if (nft === undefined) return { firewall: 'nftables', why: 'NETAVARK_FW=nftables works' };
  const ipt = probe('iptables');
  if (ipt === undefined) return { firewall: 'iptables', why: `NETAVARK_FW=nftables refused (${nft.trim()}), so iptables (iptables-nft) is used` };
  throw new Error(`netavark works with neither firewall driver: nftables: ${nft.trim()}; iptables: ${ipt.trim()}`);
}
