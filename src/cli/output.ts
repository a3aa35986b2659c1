/**
 * Rendering for the CLI: aligned tables for people, JSON for scripts, one line per error.
 * @module
 */
import { CtnetError, TeardownError } from '../errors.js';

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

/** Exit status for an error: 2 for bad input (nothing was changed), 1 for everything else. */
export function exitCodeOf(err: unknown): number {
  return err instanceof CtnetError && err.code === 'CTNET_INVALID_CONFIG' ? 2 : 1;
}

/** Print an error as one line on stderr (`--json`: one JSON object with message and code). */
export function printError(err: unknown, json: boolean): void {
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    const code = err instanceof CtnetError || err instanceof TeardownError ? err.code : 'CTNET_INTERNAL';
    process.stderr.write(`${JSON.stringify({ error: message, code })}\n`);
  } else {
    process.stderr.write(`ctnet: ${message.replaceAll('\n', ' ')}\n`);
  }
}
