/**
 * The shape of every connect/disconnect row: make N namespaces, time N sequential attaches, check
 * one container really got an address and a default route, then time N sequential detaches.
 * Whatever was attached and not detached is detached (untimed) if the row fails half way.
 * @module
 */
import { msSince } from './stats.js';
import { type Cleanup, names, ownNetns, sh } from './util.js';

export interface AddDelSamples {
  add: number[];
  del: number[];
}

export interface AddDelSpec {
  n: number;
  /** Namespace name prefix; the namespaces are `${prefix}0` ... */
  prefix: string;
  c: Cleanup;
  add(i: number, ns: string): unknown;
  del(i: number, ns: string): unknown;
  /** Interface the attach makes in the container (checked after the attaches). */
  ifname?: string;
  /** A further check after the attaches (untimed), e.g. that a port was published. */
  verify?: () => void;
}

/** Throws unless the firewall ruleset (nftables, iptables-nft included) mentions host port `port`. */
export function checkPortPublished(port: number): void {
  const rules = sh('nft', ['list', 'ruleset']);
  if (!new RegExp(`\\b${port}\\b`).test(rules)) throw new Error(`host port ${port} appears nowhere in the ruleset after the attaches`);
}

/** The container's IPv4 address on `ifname` and its default route, or an error saying what is missing. */
export function checkAttached(ns: string, ifname = 'eth0'): string {
  const addrs = JSON.parse(sh('ip', ['-n', ns, '-j', '-4', 'addr', 'show', 'dev', ifname])) as { addr_info?: { local: string; prefixlen: number }[] }[];
  const a = addrs[0]?.addr_info?.[0];
  if (a === undefined) throw new Error(`${ns}: no IPv4 address on ${ifname} after attach`);
  const routes = sh('ip', ['-n', ns, '-4', 'route', 'show', 'default']).trim();
  if (routes === '') throw new Error(`${ns}: no default route after attach`);
  return `${a.local}/${a.prefixlen}`;
}

/**
 * The longest time the event loop could not run while `fn` ran, in ms: the largest gap between two
 * turns of a setImmediate chain (which keeps the loop from sleeping), so a synchronous stretch of
 * JavaScript or of a system call shows as one gap.
 */
export async function longestStall(fn: () => unknown): Promise<number> {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const turn = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(turn);
  };
  setImmediate(turn);
  try {
    await fn();
  } finally {
    running = false;
  }
  turn();
  return longest;
}

export async function measureAddDel(spec: AddDelSpec): Promise<AddDelSamples> {
  const all = names(spec.prefix, spec.n);
  ownNetns(spec.c, all);
  const attached = new Set<number>();
  spec.c.push(`detach what ${spec.prefix}* still has`, async () => {
    const errors: string[] = [];
    for (const i of attached) {
      try {
        await spec.del(i, all[i] ?? '');
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (errors.length > 0) throw new Error(errors.join('; '));
  });
  const out: AddDelSamples = { add: [], del: [] };
  for (const [i, ns] of all.entries()) {
    const t = process.hrtime.bigint();
    await spec.add(i, ns);
    out.add.push(msSince(t));
    attached.add(i);
  }
  if (all[0] !== undefined) checkAttached(all[0], spec.ifname);
  spec.verify?.();
  for (const [i, ns] of all.entries()) {
    const t = process.hrtime.bigint();
    await spec.del(i, ns);
    out.del.push(msSince(t));
    attached.delete(i);
  }
  return out;
}
