/**
 * Legacy iptables: the x_tables rule tables that the kernel keeps beside nf_tables, which `nft`
 * and nf_tables netlink cannot see. Docker on a host that selects iptables-legacy leaves its
 * `FORWARD DROP` policy there. The `iptables-legacy` tools are the only way to them: ctnet reads
 * a table with `iptables-legacy-save` and changes it with `iptables-legacy-restore --noflush`,
 * which replaces the whole table in one step (x_tables has no finer transaction), waiting for the
 * xtables lock that every iptables command takes.
 *
 * Reading a table that no one loaded would load it (an empty one, registered on its hooks), so
 * ctnet looks at `/proc/net/ip_tables_names` first and runs nothing when legacy iptables is not in use.
 * @module
 */
import { readFileSync } from 'node:fs';
import { debuglog } from 'node:util';
import { errorMessage, IptablesError, systemErrorCode } from '../errors.js';
import { type AcceptRule, type ChainChange, type ForeignChain, type OwnedRule, ownerOf } from './foreign-rules.js';
import { ownerComment } from './nft/network-rules.js';
import { findExecutable } from './nft/runner.js';

const debug = debuglog('ctnet');

/** Kill a tool and fail after this long; the xtables lock is waited for a little less. */
const TIMEOUT_MS = 15_000;
const LOCK_WAIT_S = 10;
// A save of a big table (kube-proxy writes tens of thousands of rules) is read whole, up to this size.
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The tools of one address family. */
function tool(family: 4 | 6, verb: 'save' | 'restore'): string {
  return `${family === 4 ? 'iptables' : 'ip6tables'}-legacy-${verb}`;
}

/** Reads and changes legacy iptables; {@link ExecLegacyIptables} runs the real tools. */
export interface LegacyIptables {
  /**
   * The tables of `family` the kernel holds for this namespace (`/proc/net/ip_tables_names`);
   * none when legacy iptables is not in use. Synchronous: a read of /proc that the connect path
   * makes, ~10 µs, where a read on libuv's pool costs a round trip of ~0.2 ms.
   */
  tablesInUse(family: 4 | 6): string[];
  /** `iptables-legacy-save` (`-t TABLE` for one table): the text of the tables. */
  save(family: 4 | 6, table?: string): Promise<string>;
  /** `iptables-legacy-restore --noflush`: applies `text`, each table in one step. */
  restore(family: 4 | 6, text: string): Promise<void>;
}

/**
 * Runs `iptables-legacy-save` and `-restore` (and the ip6tables ones), found in PATH or the sbin
 * directories.
 *
 * @example
 * ```ts
 * const legacy = new ExecLegacyIptables();
 * if (legacy.tablesInUse(4).includes('filter')) console.log(await legacy.save(4, 'filter'));
 * ```
 */
export class ExecLegacyIptables implements LegacyIptables {
  tablesInUse(family: 4 | 6): string[] {
    const file = family === 4 ? '/proc/net/ip_tables_names' : '/proc/net/ip6_tables_names';
    try {
      return readFileSync(file, 'utf8').split('\n').filter((name) => name !== '');
    } catch (err) {
      // A kernel without x_tables has no such file: nothing of legacy iptables is in use.
      if (systemErrorCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  async save(family: 4 | 6, table?: string): Promise<string> {
    return this.#run(tool(family, 'save'), table === undefined ? [] : ['-t', table]);
  }

  async restore(family: 4 | 6, text: string): Promise<void> {
    debug('%s --noflush %s', tool(family, 'restore'), text);
    await this.#run(tool(family, 'restore'), ['--noflush', '-w', String(LOCK_WAIT_S)], text);
  }

  async #run(name: string, args: string[], input?: string): Promise<string> {
    const path = await findExecutable(name);
    if (path === undefined) throw new IptablesError(`${name} is not installed (Debian package iptables)`, { stderr: '' });
    const { execFile } = await import('node:child_process');
    return new Promise((resolve, reject) => {
      const child = execFile(path, args, { timeout: TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        const why = stderr.trim() === '' ? errorMessage(err) : stderr.trim().split('\n').slice(0, 3).join('; ');
        reject(new IptablesError(`${[name, ...args].join(' ')} failed: ${why}`, { stderr, cause: err }));
      });
      // A tool that fails before reading its input closes the pipe: its exit status says why.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
  }
}

/** One table of a save: its chains' policies and its rules. */
export interface SavedTable {
  name: string;
  /** Built-in chains have a policy (`ACCEPT`, `DROP`); user chains `-`. */
  policies: Map<string, string>;
  rules: SavedRule[];
}

/** One rule of a save: `-A CHAIN SPEC`. */
export interface SavedRule {
  chain: string;
  /** Everything after `-A CHAIN `, quoted as the save quotes it: what `-D CHAIN` takes back. */
  spec: string;
  comment?: string;
}

/**
 * Reads the text of `iptables-save` (or `iptables-legacy-save`): tables, chain policies, rules.
 *
 * @example
 * ```ts
 * parseSave('*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.68.0.0/24 -j ACCEPT\nCOMMIT\n');
 * // [{ name: 'filter', policies: Map { 'FORWARD' => 'DROP' }, rules: [{ chain: 'FORWARD', spec: '-s 10.68.0.0/24 -j ACCEPT' }] }]
 * ```
 */
export function parseSave(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  let table: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = { name: line.slice(1).trim(), policies: new Map(), rules: [] };
      tables.push(table);
    } else if (table !== undefined && line.startsWith(':')) {
      const [chain, policy] = line.slice(1).split(' ');
      if (chain !== undefined && policy !== undefined) table.policies.set(chain, policy);
    } else if (table !== undefined && line.startsWith('-A ')) {
      const rest = line.slice(3);
      const space = rest.indexOf(' ');
      const chain = space === -1 ? rest : rest.slice(0, space);
      const spec = space === -1 ? '' : rest.slice(space + 1);
      const comment = /(?:^| )--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(spec);
      const text = comment?.[1]?.replace(/\\(.)/g, '$1') ?? comment?.[2];
      table.rules.push({ chain, spec, ...(text === undefined ? {} : { comment: text }) });
    } else if (line === 'COMMIT') {
      table = undefined;
    }
  }
  return tables;
}

/** A ctnet rule in legacy FORWARD: deleted by its spec. */
export interface LegacyOwnedRule extends OwnedRule {
  spec: string;
}

/** Legacy iptables' FORWARD chain of one family, with ctnet's rules in it. */
export interface LegacyForeignChain extends ForeignChain<LegacyOwnedRule> {
  family: 4 | 6;
}

/**
 * The FORWARD chain of the `filter` table in a save of family `family`, or undefined when the
 * save holds no filter table.
 */
export function legacyForwardChain(family: 4 | 6, tables: readonly SavedTable[]): LegacyForeignChain | undefined {
  const filter = tables.find((t) => t.name === 'filter');
  if (filter === undefined) return undefined;
  const owned: LegacyOwnedRule[] = [];
  for (const r of filter.rules) {
    const owner = ownerOf(r.comment);
    if (owner !== undefined && r.chain === 'FORWARD') owned.push({ owner, spec: r.spec });
  }
  return {
    firewall: family === 4 ? 'iptables-legacy' : 'ip6tables-legacy',
    name: 'filter FORWARD',
    families: [family],
    drops: filter.policies.get('FORWARD') === 'DROP',
    owned,
    family,
  };
}

/**
 * The `iptables-restore --noflush` input for `changes` of one family's chains: the filter table,
 * ctnet's rules deleted by spec, the new ones inserted at the top (last first, so that they read
 * in order), committed as one step. Empty when nothing changes.
 *
 * @example
 * ```ts
 * restoreText(net.id, allowChanges(net, [chain]));
 * // '*filter\n-I FORWARD 1 -d 10.68.0.0/24 -m comment --comment "ctnet net ab12" -j ACCEPT\n-I FORWARD 1 -s ...\nCOMMIT\n'
 * ```
 */
export function restoreText(owner: string, changes: readonly ChainChange<LegacyForeignChain>[]): string {
  const lines: string[] = [];
  for (const { remove, add } of changes) {
    for (const r of remove) lines.push(`-D FORWARD ${r.spec}`);
    for (const rule of [...add].reverse()) lines.push(`-I FORWARD 1 ${ruleSpec(owner, rule)}`);
  }
  return lines.length === 0 ? '' : ['*filter', ...lines, 'COMMIT', ''].join('\n');
}

function ruleSpec(owner: string, rule: AcceptRule): string {
  const cidr = `${rule.subnet.addr}/${rule.subnet.len}`;
  const parts: string[] = [];
  if (rule.src) parts.push('-s', cidr);
  if (rule.dst) parts.push('-d', cidr);
  parts.push('-m', 'comment', '--comment', `"${ownerComment(owner)}"`, '-j', 'ACCEPT');
  return parts.join(' ');
}
