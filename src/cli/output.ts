/**
 * Rendering for the CLI: aligned tables for people, JSON for scripts, one line per error.
 * @module
 */
// errors.js is the library's error module (re-exported by index.js), light enough to load at start-up.
import { CtnetError, errorMessage, TeardownError } from '../errors.js';
import type { HostChange, PublishedPort } from '../index.js';
import { formatPortHost, formatPortRange } from '../inet/port.js';

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  process.stdout.write(`${formatTable(headers, rows)}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Refusals: the request was checked against what exists and turned down before anything changed
 * (bad input, a name or address already taken, something named that is not there, a full subnet).
 */
const REFUSALS: ReadonlySet<string> = new Set(['CTNET_INVALID_CONFIG', 'CTNET_CONFLICT', 'CTNET_NOT_FOUND', 'CTNET_IPAM_EXHAUSTED']);

/**
 * Exit status for an error: 2 for a refusal (nothing was changed), 1 for a change that was tried
 * and failed (the kernel, nftables, the database, a lock held too long by another process).
 */
export function exitCodeOf(err: unknown): number {
  return err instanceof CtnetError && REFUSALS.has((err as CtnetError).code) ? 2 : 1;
}

/** Print an error as one line on stderr (`--json`: one JSON object with message and code). */
export function printError(err: unknown, json: boolean): void {
  const message = errorMessage(err);
  if (json) {
    const code: string = err instanceof CtnetError || err instanceof TeardownError ? (err as CtnetError | TeardownError).code : 'CTNET_INTERNAL';
    process.stderr.write(`${JSON.stringify({ error: message, code })}\n`);
  } else {
    process.stderr.write(`ctnet: ${message.replaceAll('\n', ' ')}\n`);
  }
}

/** Tell something the user should know about a change that succeeded, as one line on stderr (`--json`: one JSON object). */
export function printNotice(message: string, json: boolean): void {
  process.stderr.write(json ? `${JSON.stringify({ notice: message })}\n` : `ctnet: ${message}\n`);
}

/**
 * A change ctnet made to another firewall's chain, as one notice:
 * `added 2 accept rules to chain ip filter FORWARD (nftables): it drops forwarded packets by default, ...`.
 */
export function hostChangeNotice(change: HostChange): string {
  const rules = `${change.rules} accept rule${change.rules === 1 ? '' : 's'}`;
  const what = change.action === 'add' ? `added ${rules} to` : `removed ${rules} from`;
  return `${what} chain ${change.chain} (${change.firewall}): ${change.why}`;
}

/**
 * Published ports as people write them, IPv4 first, consecutive ports folded into ranges:
 * `0.0.0.0:8080-8081->80-81/tcp, [::]:8080->80/tcp`.
 */
export function formatPorts(unsorted: readonly PublishedPort[]): string {
  // Sorted, so that `-p 8080:80 -p 8081:81` folds on a dual-stack network (its records alternate families).
  const ports = [...unsorted].sort(
    (a, b) =>
      a.family - b.family ||
      (a.hostIp ?? '').localeCompare(b.hostIp ?? '') ||
      a.protocol.localeCompare(b.protocol) ||
      a.hostPort - b.hostPort,
  );
  const out: string[] = [];
  let i = 0;
  while (i < ports.length) {
    const first = ports[i] as PublishedPort;
    let n = 1;
    for (;;) {
      const next = ports[i + n];
      if (next === undefined || next.family !== first.family || next.protocol !== first.protocol || next.hostIp !== first.hostIp) break;
      if (next.hostPort !== first.hostPort + n || next.containerPort !== first.containerPort + n) break;
      n++;
    }
    const range = (start: number): string => formatPortRange(start, n === 1 ? undefined : start + n - 1);
    out.push(`${formatPortHost(first.family, first.hostIp)}:${range(first.hostPort)}->${range(first.containerPort)}/${first.protocol}`);
    i += n;
  }
  return out.join(', ');
}
