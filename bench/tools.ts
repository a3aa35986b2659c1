/**
 * The programs the benchmark compares ctnet against or measures with, where Debian puts them, and
 * which package brings each.
 * @module
 */
import { accessSync, constants } from 'node:fs';

export const CNI_DIR = '/usr/lib/cni';
export const NETAVARK = '/usr/lib/podman/netavark';
export const GNU_TIME = '/usr/bin/time';

export interface Tool {
  name: string;
  /** Executables that must all exist. */
  paths: string[];
  /** The Debian package that provides them. */
  pkg: string;
  /** What needs it, for messages. */
  usedBy: string;
}

export const TOOLS: readonly Tool[] = [
  {
    name: 'reference CNI plugins',
    paths: [`${CNI_DIR}/bridge`, `${CNI_DIR}/host-local`, `${CNI_DIR}/portmap`],
    pkg: 'containernetworking-plugins',
    usedBy: 'connect rows "CNI bridge+host-local" and "CNI bridge+portmap"',
  },
  { name: 'netavark', paths: [NETAVARK], pkg: 'netavark', usedBy: 'connect rows "netavark"' },
  { name: 'iptables', paths: ['/usr/sbin/iptables'], pkg: 'iptables', usedBy: 'netavark 1.4 (its iptables firewall driver) and the reference plugins (ipMasq, portmap)' },
  { name: 'iperf3', paths: ['/usr/bin/iperf3'], pkg: 'iperf3', usedBy: 'data plane throughput rows' },
  { name: 'ping', paths: ['/usr/bin/ping'], pkg: 'iputils-ping', usedBy: 'data plane RTT rows' },
  { name: 'GNU time', paths: [GNU_TIME], pkg: 'time', usedBy: 'memory row "CLI peak RSS" (falls back to a VmHWM wrapper)' },
];

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function toolMissing(tool: Tool): string[] {
  return tool.paths.filter((p) => !isExecutable(p));
}

export function hasTool(name: string): boolean {
  const tool = TOOLS.find((t) => t.name === name);
  if (tool === undefined) throw new TypeError(`unknown tool ${name}`);
  return toolMissing(tool).length === 0;
}

/** Why `name` cannot be used, or undefined when it can. */
export function toolSkipReason(name: string): string | undefined {
  const tool = TOOLS.find((t) => t.name === name);
  if (tool === undefined) throw new TypeError(`unknown tool ${name}`);
  const missing = toolMissing(tool);
  return missing.length === 0 ? undefined : `${missing.join(', ')} not installed (Debian package ${tool.pkg}; \`npm run bench\` installs it before entering the sandbox)`;
}
