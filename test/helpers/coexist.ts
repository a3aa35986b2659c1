/**
 * Helpers for the tests of coexistence with other firewalls: a forward drop policy set the way
 * Docker leaves it, the ctnet rules an iptables tool shows, and what a container reaches.
 * @module
 */
import type { TestContext } from 'node:test';
import { ping, sh, tcpProbe } from './sandbox.js';

/** The iptables tools whose FORWARD policy the tests set: iptables-nft's (Debian's default) and legacy's. */
export type IptablesTool = 'iptables' | 'ip6tables' | 'iptables-legacy' | 'ip6tables-legacy';

/**
 * `TOOL -P FORWARD DROP`, as Docker leaves it; after the test the policy is ACCEPT again and,
 * for iptables-nft, the table it made is gone (legacy tables stay registered with their namespace).
 */
export async function forwardDrop(t: TestContext, tool: IptablesTool): Promise<void> {
  await sh(tool, ['-P', 'FORWARD', 'DROP']);
  t.after(async () => {
    await sh(tool, ['-P', 'FORWARD', 'ACCEPT']);
    if (!tool.endsWith('-legacy')) await sh('nft', ['delete', 'table', tool === 'iptables' ? 'ip' : 'ip6', 'filter']);
  });
}

/** `TOOL -S FORWARD`: the policy line and the rules, as the tool itself reads them. */
export async function forwardChain(tool: IptablesTool): Promise<string[]> {
  return (await sh(tool, ['-S', 'FORWARD'])).split('\n').filter((l) => l !== '');
}

/** What a container reaches: a peer (ping, and TCP to a server there) and the internet's server. */
export interface Reach {
  peerPing: boolean;
  peerTcp: boolean;
  internetPing: boolean;
  internetTcp: boolean;
}

/** Everything reached, as a test expects it where nothing is in the way. */
export const REACHES_ALL: Reach = { peerPing: true, peerTcp: true, internetPing: true, internetTcp: true };

/**
 * What container `from` reaches: `peer` by ping and TCP (a tcpServer() listening there on
 * `peer.port`), and the internet's server the same way.
 */
export async function reach(from: string, peer: { ip: string; port: number }, internet: { ip: string; port: number }): Promise<Reach> {
  const [peerPing, peerTcp, internetPing, internetTcp] = await Promise.all([
    ping(from, peer.ip),
    tcpProbe(from, peer.ip, peer.port).then((r) => r !== undefined),
    ping(from, internet.ip),
    tcpProbe(from, internet.ip, internet.port).then((r) => r !== undefined),
  ]);
  return { peerPing, peerTcp, internetPing, internetTcp };
}
