/**
 * `npm run bench`: ctnet against the seed recipe, the reference CNI plugins and netavark, in one run
 * on one machine, inside scripts/sandbox.sh. Runs the row groups (each builds and removes its own
 * namespaces, networks and state dir), prints a table of medians and p95s and the project's targets,
 * and writes every sample as JSON.
 *
 *   npm run bench -- [--n N] [--only GROUP[,GROUP]] [--out FILE]
 *
 * Groups: connect, bulk, scaling, dataplane, memory, startup. N (default 50) is the number of
 * sequential samples per latency row; start-up rows take min(N, 30).
 * @module
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bulkGroup } from './rows/bulk.js';
import { connectGroup } from './rows/connect.js';
import { dataplaneGroup } from './rows/dataplane.js';
import { memoryGroup } from './rows/memory.js';
import { podmanGroup } from './rows/podman.js';
import { scalingGroup } from './rows/scaling.js';
import { startupGroup } from './rows/startup.js';
import { fmt, median, p95 } from './stats.js';
import { computeTargets, formatTargets } from './targets.js';
import { TOOLS, toolMissing } from './tools.js';
import type { Group, GroupContext, GroupResult, Row } from './types.js';
import { errorText, REPO_ROOT, runSync } from './util.js';

const GROUPS: readonly Group[] = [connectGroup, bulkGroup, scalingGroup, dataplaneGroup, memoryGroup, startupGroup, podmanGroup];

function usage(): string {
  return [
    'usage: npm run bench -- [--n N] [--only GROUP[,GROUP...]] [--out FILE]',
    `groups: ${GROUPS.map((g) => `${g.name} (${g.describe})`).join('\n        ')}`,
  ].join('\n');
}

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    n: { type: 'string', default: '50' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help === true) {
  console.log(usage());
  process.exit(0);
}
const N = Number(values.n);
if (!Number.isInteger(N) || N < 1) {
  console.error(`bench: --n must be a positive integer, not "${values.n}"\n${usage()}`);
  process.exit(2);
}
const only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = (only ?? []).filter((g) => !GROUPS.some((x) => x.name === g));
if (unknown.length > 0) {
  console.error(`bench: unknown group(s) ${unknown.join(', ')}\n${usage()}`);
  process.exit(2);
}
if (process.env['CTNET_SANDBOX'] !== '1' || process.getuid?.() !== 0) {
  console.error('bench: run as root through scripts/sandbox.sh (npm run bench)');
  process.exit(1);
}

// Every Node process the bench starts (ctnet, ctnet-cni, node -e 0) inherits this environment.
const caWasSet = process.env['NODE_EXTRA_CA_CERTS'] !== undefined;
delete process.env['NODE_EXTRA_CA_CERTS'];

const BANNER = '!'.repeat(78);
const started = new Date();
const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const nftVersion = runSync('nft', ['--version']).stdout.trim();
console.log(`ctnet bench ${started.toISOString()}: node ${process.version}, kernel ${kernel}, ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${nftVersion}`);
console.log(`N=${N} sequential samples per latency row${only === undefined ? '' : `; groups: ${only.join(', ')}`}`);
console.log(
  `NODE_EXTRA_CA_CERTS is unset for every Node process here (${caWasSet ? 'it was set and has been removed' : 'scripts/sandbox.sh unsets it'}): ` +
    'when set it adds ~50 ms to each Node start on this machine.',
);
const missingTools = TOOLS.filter((t) => toolMissing(t).length > 0);
for (const t of missingTools) {
  console.error(`${BANNER}\nbench: MISSING ${t.name} (${toolMissing(t).join(', ')}; Debian package ${t.pkg}): SKIPPING ${t.usedBy}\n${BANNER}`);
}

const stateRoot = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? '/tmp', 'bench-'));
const results: GroupResult[] = [];

for (const group of GROUPS) {
  if (only !== undefined && !only.includes(group.name)) continue;
  const res: GroupResult = { group: group.name, status: 'ok', seconds: 0, rows: [], notes: [], skipped: [], failed: [] };
  results.push(res);
  const dir = join(stateRoot, group.name);
  mkdirSync(dir, { recursive: true });
  const ctx: GroupContext = {
    n: N,
    dir,
    add(row) {
      const full: Row = { group: group.name, ...row };
      res.rows.push(full);
      console.log(`  ${row.name}: median ${fmt(median(row.samples))} ${row.unit}, p95 ${fmt(p95(row.samples))} (n=${row.samples.length})`);
    },
    note(text) {
      res.notes.push(text);
      console.log(`  note: ${text}`);
    },
    skip(row, reason) {
      res.skipped.push({ row, reason });
      console.error(`${BANNER}\nbench: SKIPPING ${row}: ${reason}\n${BANNER}`);
    },
    async attempt(row, fn) {
      try {
        await fn();
        return true;
      } catch (err) {
        res.failed.push({ row, reason: errorText(err) });
        console.error(`bench: ${row} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return false;
      }
    },
    log(text) {
      console.log(`  ${text}`);
    },
  };
  console.log(`\n== ${group.name}: ${group.describe}`);
  const t = process.hrtime.bigint();
  try {
    await group.run(ctx);
  } catch (err) {
    res.status = 'failed';
    res.error = errorText(err);
    console.error(`bench: group ${group.name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  res.seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (res.status === 'ok' && res.failed.length > 0) res.status = 'partial';
  console.log(`== ${group.name}: ${res.status} in ${res.seconds.toFixed(1)} s`);
}

// The table.
const allRows = results.flatMap((r) => r.rows);
const header = ['group', 'row', 'n', 'median', 'p95', 'unit', 'note'];
const body = allRows.map((r) => [r.group, r.name, String(r.samples.length), fmt(median(r.samples)), r.samples.length > 1 ? fmt(p95(r.samples)) : '', r.unit, r.note ?? '']);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
const line = (cells: string[]): string =>
  cells.map((c, i) => (i === 2 || i === 3 || i === 4 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
console.log(`\nRESULTS (N=${N}; median and p95 of sequential samples; load at end ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const b of body) console.log(line(b));
for (const r of results) {
  if (r.status !== 'ok') console.log(`GROUP ${r.group} ${r.status.toUpperCase()}${r.error === undefined ? '' : `: ${r.error}`}`);
  for (const f of r.failed) console.log(`FAILED  ${f.row}: ${f.reason}`);
  for (const s of r.skipped) console.log(`SKIPPED ${s.row}: ${s.reason}`);
}
const notes = results.flatMap((r) => r.notes.map((n) => `[${r.group}] ${n}`));
if (notes.length > 0) console.log(`\nNOTES\n${notes.map((n) => `  - ${n}`).join('\n')}`);
const targets = computeTargets(allRows);
console.log(formatTargets(targets));

const out = resolve(values.out ?? join(REPO_ROOT, 'bench-results', `bench-${started.toISOString().replaceAll(':', '-')}.json`));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      date: started.toISOString(),
      host: { node: process.version, kernel, cpus: cpus().length, nft: nftVersion },
      n: N,
      nodeExtraCaCerts: 'unset for every Node process the bench starts',
      groups: results,
      targets,
    },
    null,
    1,
  )}\n`,
);
console.log(`\nwrote ${out}`);
process.exitCode = results.some((r) => r.status === 'failed') ? 1 : 0;
