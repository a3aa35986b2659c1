/**
 * Which kernel events can mean that someone broke what ctnet owns. An event is only a reason to
 * look: the repair then reads the records and the kernel afresh (`Ctnet.repair`), so what a
 * create, remove, connect or disconnect in progress does to its own objects, and what ctnet's
 * own repairs cause, is looked at and found in order.
 * @module
 */
import { firewallLoss } from '../firewall/nft/changes.js';
import { CTNET_TABLE } from '../firewall/nft/table.js';
import type { FirewallScope } from '../index.js';
import type { KernelEvent } from '../netlink/monitor.js';
import { NFPROTO_INET } from '../netlink/nftnl/constants.js';
import { LinkOwnership } from '../network/ownership.js';

/** A reason to check every ready network; with `firewall`, also to list those firewall objects. */
export interface Trigger {
  firewall?: FirewallScope;
}

/**
 * The trigger of one event, or undefined when it cannot have broken anything of ctnet's: a
 * ctnet link deleted, down, or a veth without a master (its bridge went); an address deleted;
 * forwarding switched off for the whole namespace; a deletion in `inet ctnet`, with the owners it
 * names; in another table a deletion or a chain changed (its policy may drop now), for the accept
 * rules ctnet keeps in other firewalls' chains; notifications lost to an overrun.
 *
 * @example
 * ```ts
 * triggerOf({ type: 'netconf', netconf: { family: 4, scope: 'all', index: -1, forwarding: false } }); // {}
 * ```
 */
export function triggerOf(event: KernelEvent): Trigger | undefined {
  switch (event.type) {
    case 'overrun':
      return { firewall: 'all' };
    case 'link': {
      const { link } = event;
      if (!LinkOwnership.madeByCtnet(link)) return undefined;
      return event.op === 'del' || !link.up || (link.kind === 'veth' && link.masterIndex === undefined) ? {} : undefined;
    }
    case 'address':
      return event.op === 'del' ? {} : undefined;
    case 'netconf':
      return event.netconf.scope === 'all' && event.netconf.forwarding === false ? {} : undefined;
    case 'nftables': {
      const { change } = event;
      const loss = firewallLoss(change);
      if (loss !== undefined) return { firewall: loss.all ? 'all' : { networks: loss.networks, endpoints: loss.endpoints } };
      const elsewhere = change.family !== NFPROTO_INET || change.table !== CTNET_TABLE;
      return elsewhere && (change.op === 'del' || change.object === 'chain') ? {} : undefined;
    }
  }
}

/** Two scopes as one: `all` wins, ids are joined. */
export function widenScope(a: FirewallScope | undefined, b: FirewallScope | undefined): FirewallScope | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  if (a === 'all' || b === 'all') return 'all';
  return { networks: [...new Set([...a.networks, ...b.networks])], endpoints: [...new Set([...a.endpoints, ...b.endpoints])] };
}
