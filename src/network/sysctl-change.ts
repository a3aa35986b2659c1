/**
 * How a change ctnet made to a host sysctl reads, for the CLI's notice and the agent's log: kept
 * apart from the engine's modules so that the CLI can word a change the agent made without
 * loading them.
 * @module
 */
import type { SysctlChange } from './types.js';

/** `set sysctl net.ipv4.ip_forward=1 (was 0): the host forwards the IPv4 traffic of its networks`. */
export function describeSysctlChange(change: SysctlChange): string {
  return `set sysctl ${change.key}=${change.value} (was ${change.previous ?? 'unreadable'}): ${change.why}`;
}
