/**
 * What ctnet changes in another firewall's chains, and how a change reads: kept apart from the
 * firewall code so that the CLI can word a change the agent made without loading it.
 * @module
 */
import type { ForeignFirewallName } from './foreign-rules.js';

/** Rules ctnet added to or removed from another firewall's chain, as `onHostChange` reports them. */
export interface HostChange {
  action: 'add' | 'remove';
  /** The firewall the chain belongs to: `nftables` (iptables-nft's chains too) or legacy iptables. */
  firewall: ForeignFirewallName;
  /** The chain as its firewall names it: `ip filter FORWARD` (nftables), `filter FORWARD` (legacy). */
  chain: string;
  /** How many rules. */
  rules: number;
  why: string;
}

/**
 * A change ctnet made to another firewall's chain, as one notice:
 * `added 2 accept rules to chain ip filter FORWARD (nftables): it drops forwarded packets by default, ...`.
 */
export function describeHostChange(change: HostChange): string {
  const rules = `${change.rules} accept rule${change.rules === 1 ? '' : 's'}`;
  const what = change.action === 'add' ? `added ${rules} to` : `removed ${rules} from`;
  return `${what} chain ${change.chain} (${change.firewall}): ${change.why}`;
}
