/**
 * Which of ctnet's networks and endpoints a deletion announced in the ruleset may have broken, read
 * off the names and owner comments of `inet ctnet` (see table.ts): a network's chains are
 * `n-<id>-in|out|nat` and its rules and elements say `ctnet net <id>`, a published port's elements
 * say `ctnet ep <id>`. The table, the base chains and the shared sets and maps serve every network.
 * @module
 */
import { NFPROTO_INET } from '../../netlink/nftnl/constants.js';
import type { NftEvent } from '../../netlink/nftnl/events.js';
import { ownerComment } from './network-rules.js';
import { endpointComment } from './port-rules.js';
import { CTNET_TABLE } from './table.js';

/** Whose objects a deletion took from ctnet's table. */
export interface FirewallLoss {
  /** Something every network relies on went: the table, a base chain or rule, a shared set or map. */
  all: boolean;
  /** Ids of networks whose own chains, rules or elements went. */
  networks: string[];
  /** Ids of endpoints whose published-port elements went. */
  endpoints: string[];
}

const NETWORK_CHAIN = /^n-([0-9a-f]+)-(?:in|out|nat)$/;
const NETWORK_OWNER = ownerComment('');
const ENDPOINT_OWNER = endpointComment('');

/**
 * What a change took from `inet ctnet`; undefined when it deleted nothing there (an addition,
 * another table).
 *
 * @example
 * ```ts
 * firewallLoss({ object: 'table', op: 'del', family: NFPROTO_INET, table: 'ctnet' });
 * // { all: true, networks: [], endpoints: [] }
 * firewallLoss({ object: 'element', op: 'del', family: NFPROTO_INET, table: 'ctnet', set: 'pub4_any_port', comments: ['ctnet ep e1e2'] });
 * // { all: false, networks: [], endpoints: ['e1e2'] }
 * ```
 */
export function firewallLoss(change: NftEvent): FirewallLoss | undefined {
  if (change.op !== 'del' || change.family !== NFPROTO_INET || change.table !== CTNET_TABLE) return undefined;
  const loss: FirewallLoss = { all: false, networks: [], endpoints: [] };
  const byComment = (comment: string | undefined): void => {
    if (comment?.startsWith(NETWORK_OWNER) === true) loss.networks.push(comment.slice(NETWORK_OWNER.length));
    else if (comment?.startsWith(ENDPOINT_OWNER) === true) loss.endpoints.push(comment.slice(ENDPOINT_OWNER.length));
    else loss.all = true;
  };
  switch (change.object) {
    case 'table':
    case 'set':
      loss.all = true;
      break;
    case 'chain':
    case 'rule': {
      const id = NETWORK_CHAIN.exec(change.chain)?.[1];
      if (id !== undefined) loss.networks.push(id);
      else if (change.object === 'rule') byComment(change.comment);
      else loss.all = true;
      break;
    }
    case 'element':
      for (const comment of change.comments) byComment(comment);
      break;
  }
  return loss;
}
