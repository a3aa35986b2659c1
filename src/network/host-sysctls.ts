/**
 * The host sysctls ctnet relies on (ARCHITECTURE.md, "Host sysctls"): forwarding for the networks'
 * families, accept_ra of the host's interfaces before IPv6 forwarding goes on, and those of the
 * links ctnet makes. A sysctl is written only when it differs, never set back, and every change is
 * reported.
 * @module
 */
import { debuglog } from 'node:util';
import { IFF_LOOPBACK } from '../netlink/constants.js';
import { sysctlName } from '../netns/netns.js';
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import type { HostEnd, HostSysctl } from './driver.js';
import type { Kernel } from './kernel.js';
import { LinkOwnership } from './ownership.js';
import type { SysctlChange, SysctlState } from './types.js';

const debug = debuglog('ctnet');

const IPV6_FORWARDING = 'net/ipv6/conf/all/forwarding';

/** The sysctls that make the host forward a network's families. */
function forwardingSysctls(net: NetworkRecord): HostSysctl[] {
  const families = new Set(net.subnets.map((s) => s.subnet.family));
  return [
    ...(families.has(4) ? [{ key: 'net/ipv4/ip_forward', value: '1', why: 'the host forwards the IPv4 traffic of its networks' }] : []),
    ...(families.has(6) ? [{ key: IPV6_FORWARDING, value: '1', why: 'the host forwards the IPv6 traffic of its networks' }] : []),
  ];
}

/** What decides the sysctls of each endpoint's host end. */
export function hostEndsOf(endpoints: readonly EndpointRecord[]): HostEnd[] {
  return endpoints.map((e) => ({ hostIfname: e.hostIfname, families: e.addresses.map((a) => a.ip.family), publishes: e.ports.length > 0 }));
}

/** The sysctls of the namespace ctnet runs in, as the engine sets, checks and shows them. */
export class HostSysctls {
  readonly #kernel: Pick<Kernel, 'host' | 'sysctls'>;
  readonly #onChange: ((change: SysctlChange) => void) | undefined;

  /** The kernel's host handle lists the interfaces whose accept_ra matters. */
  constructor(kernel: Pick<Kernel, 'host' | 'sysctls'>, onChange?: (change: SysctlChange) => void) {
    this.#kernel = kernel;
    this.#onChange = onChange;
  }

  /**
   * Set a host sysctl unless it has the value already, and report the change. `ownLink`: it
   * belongs to a link ctnet made for the network (reported, but not as a change of the host's own).
   */
  set(sysctl: HostSysctl, ownLink: boolean): void {
    const previous = this.#kernel.sysctls.readIfPresent(sysctl.key) ?? null;
    if (previous === sysctl.value) return;
    this.#kernel.sysctls.write(sysctl.key, sysctl.value);
    const change: SysctlChange = { key: sysctlName(sysctl.key), previous, value: sysctl.value, why: sysctl.why, ownLink };
    debug('sysctl %s=%s (was %s): %s', change.key, change.value, previous ?? 'unreadable', change.why);
    this.#onChange?.(change);
  }

  /**
   * Turn on forwarding for the network's families. Before IPv6 forwarding goes on, every host
   * interface that takes router advertisements is set to keep taking them (see
   * `#keepRouterAdvertisements`).
   */
  enableForwarding(net: NetworkRecord): void {
    for (const sysctl of forwardingSysctls(net)) {
      if (this.#kernel.sysctls.read(sysctl.key) === sysctl.value) continue;
      if (sysctl.key === IPV6_FORWARDING) this.#keepRouterAdvertisements();
      this.set(sysctl, false);
    }
  }

  /** What is off of the forwarding a non-internal network needs, one line each. */
  forwardingProblems(net: NetworkRecord): string[] {
    if (net.internal) return [];
    return forwardingSysctls(net)
      .filter((sysctl) => this.#kernel.sysctls.read(sysctl.key) !== sysctl.value)
      .map((sysctl) => `forwarding is off (${sysctlName(sysctl.key)} is not ${sysctl.value})`);
  }

  /**
   * The sysctls a network relies on, with their values now: forwarding, those of its own links
   * (`linkSysctls`, from its driver), and, where it needs IPv6 forwarding, accept_ra of every host
   * interface that takes router advertisements.
   */
  states(net: NetworkRecord, linkSysctls: readonly HostSysctl[]): SysctlState[] {
    const forwarding = net.internal ? [] : forwardingSysctls(net);
    const wanted = [...forwarding, ...linkSysctls];
    if (forwarding.some((s) => s.key === IPV6_FORWARDING)) {
      for (const { name, key } of this.#acceptRaSysctls()) {
        const value = this.#kernel.sysctls.readIfPresent(key);
        if (value === '1' || value === '2') wanted.push({ key, value: '2', why: `${name} processes router advertisements with IPv6 forwarding on only with 2` });
      }
    }
    return wanted.map((s) => ({ key: sysctlName(s.key), value: this.#kernel.sysctls.readIfPresent(s.key) ?? null, want: s.value, why: s.why }));
  }

  /**
   * With IPv6 forwarding on, the kernel processes router advertisements only on interfaces whose
   * accept_ra is 2, and turning forwarding on drops the default routes RAs gave all others: a host
   * that takes its IPv6 address and default route from RAs (SLAAC) would lose them. So, as Docker
   * does, accept_ra goes from 1 to 2 on the host's interfaces first. ctnet's own links keep 1:
   * containers must not configure the host with RAs. Loopback never receives any.
   */
  #keepRouterAdvertisements(): void {
    for (const { name, key } of this.#acceptRaSysctls()) {
      if (this.#kernel.sysctls.readIfPresent(key) !== '1') continue;
      try {
        this.set({ key, value: '2', why: `${name} keeps processing router advertisements with IPv6 forwarding on` }, false);
      } catch (err) {
        // The interface went away since the listing: nothing of it is left to keep.
        if (this.#kernel.sysctls.readIfPresent(key) !== undefined) throw err;
      }
    }
  }

  /** accept_ra of each host interface: every link but loopback (it never receives RAs) and ctnet's own. */
  #acceptRaSysctls(): { name: string; key: string }[] {
    return this.#kernel.host
      .linkList()
      .filter((link) => (link.flags & IFF_LOOPBACK) === 0 && !LinkOwnership.madeByCtnet(link))
      .map((link) => ({ name: link.name, key: `net/ipv6/conf/${link.name}/accept_ra` }));
  }
}
