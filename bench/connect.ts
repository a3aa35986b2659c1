/**
 * Connect / disconnect latency: the ctnet library in-process, the ctnet CLI, and the seed article's
 * recipe with one `ip` process per step, measured in one run on one machine. Runs inside
 * scripts/sandbox.sh (`npm run bench`); prints a table and, with `--out FILE`, writes every sample.
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Ctnet } from '../src/index.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, n: { type: 'string', default: '50' } } });
const N = Number(values.n);
const CLI = resolve(import.meta.dirname, '../../bin/ctnet.js');

if (process.env['CTNET_SANDBOX'] !== '1') {
  console.error('bench: run through scripts/sandbox.sh (npm run bench)');
  process.exit(1);
}

interface Row {
  name: string;
  samples: number[];
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

function netnsNames(prefix: string): string[] {
  return Array.from({ length: N }, (_, i) => `${prefix}${i}`);
}

const rows: Row[] = [];
const stateRoot = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? '/tmp', 'bench-'));

// ctnet library, in-process
{
  const ct = Ctnet.open({ stateDir: join(stateRoot, 'lib') });
  await ct.createNetwork({ name: 'benchlib', subnets: ['10.90.0.0/16'] });
  const names = netnsNames('bl');
  for (const n of names) ip('netns', 'add', n);
  const add: number[] = [];
  const del: number[] = [];
  for (const n of names) {
    const t = process.hrtime.bigint();
    await ct.connect('benchlib', n);
    add.push(ms(t));
  }
  for (const n of names) {
    const t = process.hrtime.bigint();
    await ct.disconnect('benchlib', n);
    del.push(ms(t));
  }
  await ct.removeNetwork('benchlib');
  ct.close();
  for (const n of names) ip('netns', 'del', n);
  rows.push({ name: 'ctnet library connect', samples: add }, { name: 'ctnet library disconnect', samples: del });
}

// ctnet CLI, one process per operation
{
  const env = { ...process.env, CTNET_STATE_DIR: join(stateRoot, 'cli') };
  const run = (...args: string[]): void => {
    const r = spawnSync(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`ctnet ${args.join(' ')} failed`);
  };
  run('network', 'create', 'benchcli', '--subnet', '10.91.0.0/16');
  const names = netnsNames('bc');
  for (const n of names) ip('netns', 'add', n);
  const add: number[] = [];
  const del: number[] = [];
  for (const n of names) {
    const t = process.hrtime.bigint();
    run('connect', 'benchcli', n);
    add.push(ms(t));
  }
  for (const n of names) {
    const t = process.hrtime.bigint();
    run('disconnect', 'benchcli', n);
    del.push(ms(t));
  }
  run('network', 'rm', 'benchcli');
  for (const n of names) ip('netns', 'del', n);
  rows.push({ name: 'ctnet CLI connect', samples: add }, { name: 'ctnet CLI disconnect', samples: del });
}

// The seed recipe by hand: one `ip` process per step.
{
  ip('link', 'add', 'seedbr', 'type', 'bridge');
  ip('addr', 'add', '10.92.0.1/16', 'dev', 'seedbr');
  ip('link', 'set', 'seedbr', 'up');
  const names = netnsNames('bs');
  for (const n of names) ip('netns', 'add', n);
  const add: number[] = [];
  const del: number[] = [];
  names.forEach((n, i) => {
    const t = process.hrtime.bigint();
    const addr = `10.92.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}/16`;
    ip('link', 'add', `sv${i}`, 'type', 'veth', 'peer', 'name', `sv${i}p`);
    ip('link', 'set', `sv${i}p`, 'netns', n);
    ip('-n', n, 'link', 'set', `sv${i}p`, 'name', 'eth0');
    ip('-n', n, 'addr', 'add', addr, 'dev', 'eth0');
    ip('-n', n, 'link', 'set', 'eth0', 'up');
    ip('-n', n, 'link', 'set', 'lo', 'up');
    ip('link', 'set', `sv${i}`, 'master', 'seedbr');
    ip('link', 'set', `sv${i}`, 'up');
    ip('-n', n, 'route', 'add', 'default', 'via', '10.92.0.1');
    add.push(ms(t));
  });
  names.forEach((_n, i) => {
    const t = process.hrtime.bigint();
    ip('link', 'del', `sv${i}`);
    del.push(ms(t));
  });
  for (const n of names) ip('netns', 'del', n);
  ip('link', 'del', 'seedbr');
  rows.push({ name: 'seed recipe (ip per step) connect', samples: add }, { name: 'seed recipe (ip per step) disconnect', samples: del });
}

const table = rows.map((r) => {
  const s = [...r.samples].sort((a, b) => a - b);
  return { row: r.name, n: s.length, median_ms: quantile(s, 0.5).toFixed(2), p95_ms: quantile(s, 0.95).toFixed(2) };
});
console.table(table);
if (values.out !== undefined) writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
