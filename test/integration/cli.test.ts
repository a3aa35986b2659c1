/**
 * The `ctnet` command line as scripts and people use it: `--json` on every command that shows
 * something, global flags anywhere, CTNET_STATE_DIR, `--version`, `--help`, unknown commands, and
 * the human tables' headers.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, cliWithEnv, ctnetStateDir, type IpAddrInfo, ipJson, newNetns, REPO_ROOT, sandboxSkipReason } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

interface NetworkJson {
  id: string;
  name: string;
  driver: string;
  bridge: string | null;
  subnets: { subnet: string; gateway: string }[];
  internal: boolean;
  nat: boolean;
}

interface EndpointJson {
  network: string;
  container: string;
  ifname: string;
  addresses: string[];
  mac: string;
}

async function json<T>(stateDir: string, args: readonly string[]): Promise<T> {
  const r = await cli(stateDir, args);
  assert.equal(r.code, 0, `ctnet ${args.join(' ')}: ${r.stderr}`);
  // Notices (a host sysctl ctnet changed) are the only thing a success writes to stderr, as JSON too.
  for (const line of r.stderr.split('\n').filter((l) => l !== '')) {
    assert.equal(typeof (JSON.parse(line) as { notice?: unknown }).notice, 'string', `ctnet ${args.join(' ')} wrote ${line} to stderr`);
  }
  return JSON.parse(r.stdout) as T;
}

/** Column headers of a human table: the first line, split on the padding between columns. */
function headers(stdout: string): string[] {
  return (stdout.split('\n')[0] ?? '').trim().split(/\s{2,}/);
}

test('--json on every command that shows something', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t, 'cl');

  const net = await json<NetworkJson>(stateDir, ['--json', 'network', 'create', 'cj', '--subnet', '10.80.40.0/24']);
  assert.equal(net.name, 'cj');
  assert.equal(net.driver, 'bridge');
  assert.deepEqual(net.subnets, [{ subnet: '10.80.40.0/24', gateway: '10.80.40.1' }]);

  const ep = await json<EndpointJson>(stateDir, ['--json', 'connect', 'cj', c]);
  assert.equal(ep.network, 'cj');
  assert.equal(ep.container, c);
  assert.equal(ep.ifname, 'eth0');
  assert.deepEqual(ep.addresses, ['10.80.40.2/24']);
  // The kernel agrees with what --json reported.
  const inside = await ipJson<IpAddrInfo[]>(['addr', 'show', 'dev', 'eth0'], c);
  assert.equal(inside[0]?.address, ep.mac);
  assert.ok(inside[0]?.addr_info.some((a) => `${a.local}/${a.prefixlen}` === '10.80.40.2/24'));

  const nets = await json<NetworkJson[]>(stateDir, ['--json', 'network', 'ls']);
  assert.deepEqual(nets.map((n) => n.name), ['cj']);
  assert.equal(nets[0]?.id, net.id);

  const details = await json<NetworkJson & { endpoints: EndpointJson[] }>(stateDir, ['--json', 'network', 'inspect', 'cj']);
  assert.equal(details.id, net.id);
  assert.deepEqual(details.endpoints.map((e) => [e.container, e.addresses]), [[c, ['10.80.40.2/24']]]);

  const eps = await json<EndpointJson[]>(stateDir, ['--json', 'ls']);
  assert.deepEqual(eps.map((e) => [e.network, e.container, e.ifname, e.addresses, e.mac]), [['cj', c, 'eth0', ['10.80.40.2/24'], ep.mac]]);

  const names = await json<string[]>(stateDir, ['--json', 'netns', 'ls']);
  assert.ok(Array.isArray(names) && names.includes(c), JSON.stringify(names));

  // The same flag after the subcommand.
  assert.deepEqual(await json<NetworkJson[]>(stateDir, ['network', 'ls', '--json']), nets);
  assert.deepEqual(await json<EndpointJson[]>(stateDir, ['ls', '--json']), eps);
  assert.deepEqual(await json<string[]>(stateDir, ['netns', 'ls', '--json']), names);
  assert.deepEqual((await json<typeof details>(stateDir, ['network', 'inspect', 'cj', '--json'])).endpoints, details.endpoints);
});

test('global flags after the subcommand, --state-dir and CTNET_STATE_DIR', { skip }, async (t) => {
  const a = ctnetStateDir(t);
  const b = ctnetStateDir(t);

  // CTNET_STATE_DIR alone decides where the state goes.
  const made = await cliWithEnv({ CTNET_STATE_DIR: a }, ['network', 'create', 'sd', '--subnet', '10.80.41.0/24']);
  assert.equal(made.code, 0, made.stderr);
  assert.ok(existsSync(join(a, 'ctnet.db')), 'no database in CTNET_STATE_DIR');
  assert.ok(!existsSync(join(b, 'ctnet.db')));

  const names = async (r: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string[]> => {
    const res = await r;
    assert.equal(res.code, 0, res.stderr);
    return (JSON.parse(res.stdout) as NetworkJson[]).map((n) => n.name);
  };
  // --state-dir wins over the environment, before or after the subcommand, with --json anywhere.
  assert.deepEqual(await names(cliWithEnv({ CTNET_STATE_DIR: b }, ['network', 'ls', '--json', '--state-dir', a])), ['sd']);
  assert.deepEqual(await names(cliWithEnv({ CTNET_STATE_DIR: b }, ['--state-dir', a, 'network', 'ls', '--json'])), ['sd']);
  assert.deepEqual(await names(cliWithEnv({ CTNET_STATE_DIR: b }, ['--json', 'network', 'ls', `--state-dir=${a}`])), ['sd']);
  assert.deepEqual(await names(cliWithEnv({ CTNET_STATE_DIR: a }, ['network', 'ls', '--state-dir', b, '--json'])), []);
  assert.deepEqual(await names(cliWithEnv({ CTNET_STATE_DIR: a }, ['--json', 'network', 'ls'])), ['sd']);
});

test('--version, --help and unknown commands', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await cli(stateDir, [flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${pkg.version}\n`);
  }

  const help = await cli(stateDir, ['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: ctnet /);
  for (const cmd of ['netns', 'exec', 'network', 'connect', 'disconnect', 'ls']) assert.match(help.stdout, new RegExp(`\\n  ${cmd}\\b`), `--help does not list ${cmd}`);
  for (const args of [['network', '--help'], ['network', 'create', '--help'], ['connect', '--help'], ['help', 'network']]) {
    const r = await cli(stateDir, args);
    assert.equal(r.code, 0, `ctnet ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: ctnet /, `ctnet ${args.join(' ')}`);
  }
  assert.match((await cli(stateDir, ['network', 'create', '--help'])).stdout, /--subnet <cidr>[\s\S]*--gateway[\s\S]*--driver[\s\S]*--bridge[\s\S]*--mtu[\s\S]*--no-nat[\s\S]*--internal/);

  for (const args of [['frobnicate'], ['network', 'frobnicate'], ['netns', 'frobnicate']]) {
    const r = await cli(stateDir, args);
    assert.notEqual(r.code, 0, `ctnet ${args.join(' ')} succeeded`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^ctnet: [^\n]*unknown command[^\n]*\n$/, `ctnet ${args.join(' ')}: ${JSON.stringify(r.stderr)}`);
  }
});

test('human tables have the documented headers', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t, 'cl');
  const created = await cli(stateDir, ['network', 'create', 'ht', '--subnet', '10.80.42.0/24']);
  assert.equal(created.code, 0, created.stderr);
  const networkHeaders = ['NAME', 'DRIVER', 'SUBNETS', 'GATEWAYS', 'BRIDGE', 'MODE'];
  assert.deepEqual(headers(created.stdout), networkHeaders);
  assert.deepEqual(created.stdout.split('\n')[1]?.trim().split(/\s+/), ['ht', 'bridge', '10.80.42.0/24', '10.80.42.1', 'ct-ht', 'nat']);

  const ls = await cli(stateDir, ['network', 'ls']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(headers(ls.stdout), networkHeaders);

  const connected = await cli(stateDir, ['connect', 'ht', c]);
  assert.equal(connected.code, 0, connected.stderr);
  // DESIGN.md: `ctnet ls` shows every endpoint's container, network, interface, addresses, ports.
  const documented = ['CONTAINER', 'NETWORK', 'IFNAME', 'ADDRESSES', 'PORTS'];
  for (const out of [connected.stdout, (await cli(stateDir, ['ls'])).stdout]) {
    const h = headers(out);
    assert.deepEqual(h.filter((x) => documented.includes(x)), documented, `endpoint table headers ${JSON.stringify(h)}`);
    const row = (out.split('\n')[1] ?? '').trim().split(/\s+/);
    assert.deepEqual(row.slice(0, 4), [c, 'ht', 'eth0', '10.80.42.2/24']);
  }

  const inspect = await cli(stateDir, ['network', 'inspect', 'ht']);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /^Name:\s+ht$/m);
  assert.match(inspect.stdout, /^Subnets:\s+10\.80\.42\.0\/24 \(gateway 10\.80\.42\.1\)$/m);
  assert.match(inspect.stdout, new RegExp(`^CONTAINER\\s+IFNAME\\s+ADDRESSES\\s+MAC\\s+HOST IFNAME$[\\s\\S]*^${c}\\s+eth0\\s+10\\.80\\.42\\.2/24`, 'm'));

  const netns = await cli(stateDir, ['netns', 'ls']);
  assert.equal(netns.code, 0, netns.stderr);
  assert.deepEqual(headers(netns.stdout), ['NAME']);
  assert.ok(netns.stdout.split('\n').includes(c));
});

test('--internal and --no-nat are accepted and recorded', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const internal = await json<NetworkJson>(stateDir, ['--json', 'network', 'create', 'in1', '--subnet', '10.80.43.0/24', '--internal']);
  assert.deepEqual([internal.internal, internal.nat], [true, false]);
  const both = await json<NetworkJson>(stateDir, ['--json', 'network', 'create', 'in2', '--subnet', '10.80.44.0/24', '--internal', '--no-nat']);
  assert.deepEqual([both.internal, both.nat], [true, false]);
  const routed = await json<NetworkJson>(stateDir, ['--json', 'network', 'create', 'rt1', '--subnet', '10.80.45.0/24', '--no-nat', '--driver', 'ptp']);
  assert.deepEqual([routed.internal, routed.nat, routed.bridge], [false, false, null]);
  const nat = await json<NetworkJson>(stateDir, ['--json', 'network', 'create', 'nt1', '--subnet', '10.80.46.0/24']);
  assert.deepEqual([nat.internal, nat.nat], [false, true]);
  const table = await cli(stateDir, ['network', 'ls']);
  assert.deepEqual(
    table.stdout.trim().split('\n').slice(1).map((l) => { const cells = l.trim().split(/\s+/); return `${cells[0] ?? ''} ${cells[cells.length - 1] ?? ''}`; }),
    ['in1 internal', 'in2 internal', 'nt1 nat', 'rt1 routed'],
  );
});
