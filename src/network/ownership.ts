/**
 * Which links are ctnet's. Every link ctnet makes on the host carries the alias
 * `ctnet:<tag>:<id>` (`ip link set DEV alias ...`), where `<id>` is the network or endpoint it was
 * made for and `<tag>` names the state directory. ctnet deletes a link only when it carries that
 * mark, so a state database that names another interface (rewritten, corrupted, or simply stale)
 * can never make it delete the host's own links.
 *
 * The kernel does not take an alias in the request that creates a link, so a link is created under
 * its pending name `ct<first 12 hex digits of id>`, and the mark comes in a second request. A link
 * with that exact pending name and no alias is one whose creator was killed in between, and counts
 * as ctnet's too: nobody else names links after ctnet's random ids.
 * @module
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { debuglog } from 'node:util';
import type { Rtnl } from '../netlink/rtnl/handle.js';
import type { LinkInfo } from '../netlink/rtnl/link.js';

const debug = debuglog('ctnet');

const ALIAS_PREFIX = 'ctnet:';
/** `pendingName()` of any id: `ct` and 12 hex digits. */
const PENDING_NAME = /^ct[0-9a-f]{12}$/;

/**
 * The marks of one state directory.
 * @example
 * ```ts
 * const own = new LinkOwnership('/var/lib/ctnet');
 * own.mark('0a1b2c3d4e5f6a7b'); // 'ctnet:3f2a9c1e:0a1b2c3d4e5f6a7b'
 * own.pendingName('0a1b2c3d4e5f6a7b'); // 'ct0a1b2c3d4e5f'
 * ```
 */
export class LinkOwnership {
  /** Eight hex digits of a hash of the state directory's absolute path. */
  readonly tag: string;

  constructor(stateDir: string) {
    this.tag = createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 8);
  }

  /** The alias a link made for network or endpoint `id` carries. */
  mark(id: string): string {
    return `${ALIAS_PREFIX}${this.tag}:${id}`;
  }

  /** The name a link made for `id` has until it is marked (and keeps, for a veth's host end). */
  pendingName(id: string): string {
    return `ct${id.slice(0, 12)}`;
  }

  /** Whether `link` is the one ctnet made for `id`: marked so, or unmarked under its pending name. */
  owns(link: LinkInfo, id: string): boolean {
    if (link.alias !== undefined && link.alias !== '') return link.alias === this.mark(id);
    return link.name === this.pendingName(id);
  }

  /** The id in a mark of this state directory, or undefined for any other alias. */
  idOf(link: LinkInfo): string | undefined {
    const prefix = `${ALIAS_PREFIX}${this.tag}:`;
    return link.alias?.startsWith(prefix) === true ? link.alias.slice(prefix.length) : undefined;
  }

  /**
   * Whom `link` was made for, if this state directory made it: the id in its mark, or, for an
   * unmarked link under a pending name (its creator was killed before marking it), the first 12
   * hex digits of the id, which is also what {@link removeOwned} takes for it. Undefined for a
   * link that is not ctnet's or carries another state directory's mark.
   */
  claim(link: LinkInfo): { id: string; pending: boolean } | undefined {
    const id = this.idOf(link);
    if (id !== undefined) return { id, pending: false };
    if ((link.alias ?? '') === '' && PENDING_NAME.test(link.name)) return { id: link.name.slice(2), pending: true };
    return undefined;
  }

  /**
   * Whether ctnet made `link` for any state directory: marked by one, or unmarked under a pending
   * name. Such links are left as ctnet configured them when it changes the host's own interfaces.
   */
  static madeByCtnet(link: LinkInfo): boolean {
    if (link.alias !== undefined && link.alias !== '') return link.alias.startsWith(ALIAS_PREFIX);
    return PENDING_NAME.test(link.name);
  }

  /** Mark link `index` as made for `id`; with `change`, in the same request. */
  markLink(host: Rtnl, index: number, id: string, change: { name?: string; up?: boolean } = {}): void {
    host.linkSet(index, { ...change, alias: this.mark(id) });
  }

  /**
   * Delete the link ctnet made for `id`, looked up under each of `names` (its final name, then its
   * pending one). A link of such a name that is not ctnet's is left alone: ours is gone already.
   * Returns the names of the foreign links it left alone. The deletion runs off the event loop:
   * the kernel takes ~20 ms for a veth and ~30 ms for a bridge.
   */
  async removeOwned(host: Rtnl, id: string, names: readonly string[]): Promise<string[]> {
    const foreign: string[] = [];
    for (const name of new Set(names)) {
      const link = host.linkGet(name);
      if (link === undefined) continue;
      if (!this.owns(link, id)) {
        debug('not deleting %s: alias %j is not the mark of %s', name, link.alias ?? '', id);
        foreign.push(name);
        continue;
      }
      await host.linkRemoveAsync(link.index);
    }
    return foreign;
  }
}
