/**
 * `ctnet gc` and half-made endpoints on the real kernel: `ctnet connect`, CNI ADDs and `ctnet
 * network create` killed with SIGKILL at growing delays (from 0 to past a whole call), namespaces
 * deleted under their endpoints, then one gc. Afterwards nothing is leaked (links, addresses,
 * routes, nft chains and elements, database rows), no address is held twice, every endpoint left
 * works, and every container whose connect was killed connects again. Also: a connect of a
 * half-made container without gc, and a gc beside a connect that is still running. Runs only as
 * root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { Endpoint, GcReport, Network } from '../../src/index.js';
import { Ctnet } from '../../src/index.js';
import {
  addrs,
  CLI,
  CNI_PLUGIN,
  cli,
  cliOk,
  cniExec,
  ctnetStateDir,
  hostFootprint,
  ipJson,
  linkNamed,
  newNetns,
  ping,
  removeAllCtnetObjects,
  runKilledAfter,
  runToStep,
  sandboxSkipReason,
  sh,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

/**
 * Growing delays from 0 ms to a little beyond `fullMs`, the time a whole call takes here: a few
 * through start-up, then every 2 ms over the end, where the engine does its few milliseconds of
 * work and a kill leaves something half-made (start-up varies by more than that).
 */
function killDelays(fullMs: number): number[] {
  const fine: number[] = [];
  for (let ms = Math.round(fullMs * 0.7); ms <= fullMs * 1.15; ms += 2) fine.push(ms);
  return [0, Math.round(fullMs * 0.25), Math.round(fullMs * 0.5), ...fine];
}

/** How long `fn` takes, in ms. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await fn();
  return Date.now() - started;
}

async function json<T>(stateDir: string, args: readonly string[]): Promise<T> {
  return JSON.parse(await cliOk(stateDir, ['--json', ...args])) as T;
}

/** The host's links that ctnet made: marked `ctnet:...`, or unmarked under a pending name. */
async function ctnetMadeLinks(): Promise<string[]> {
  const all = await ipJson<{ ifname: string; ifalias?: string }[]>(['-d', 'link', 'show']);
  return all.filter((l) => (l.ifalias ?? '').startsWith('ctnet:') || ((l.ifalias ?? '') === '' && /^ct[0-9a-f]{12}$/.test(l.ifname))).map((l) => l.ifname).sort();
}

/** The owners of ctnet's table as nft lists it: network ids by chain, endpoint ids by element comment. */
async function nftOwners(): Promise<{ chains: string[]; networks: string[]; endpoints: string[] }> {
  const doc = JSON.parse(await sh('nft', ['-j', 'list', 'ruleset'])) as { nftables: Record<string, unknown>[] };
  const chains = new Set<string>();
  const networks = new Set<string>();
  const endpoints = new Set<string>();
  const text = JSON.stringify(doc);
  for (const item of doc.nftables) {
    const chain = item['chain'] as { table?: string; name?: string } | undefined;
    if (chain?.table === 'ctnet' && chain.name !== undefined && chain.name.startsWith('n-')) chains.add(chain.name);
  }
  for (const m of text.matchAll(/"ctnet net ([0-9a-f]+)"/g)) networks.add(m[1] ?? '');
  for (const m of text.matchAll(/"ctnet ep ([0-9a-f]+)"/g)) endpoints.add(m[1] ?? '');
  return { chains: [...chains].sort(), networks: [...networks].sort(), endpoints: [...endpoints].sort() };
}

/** Row counts of the state database. */
function rows(stateDir: string): Record<string, number> {
  const db = new Database(join(stateDir, 'ctnet.db'), { readonly: true });
  try {
    const count = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { networks: count('networks'), endpoints: count('endpoints'), allocations: count('allocations'), published_ports: count('published_ports') };
  } finally {
    db.close();
  }
}

/** The host footprint without the test's own namespaces (they come and go with the test). */
async function footprint(): Promise<string[]> {
  return (await hostFootprint()).filter((l) => !l.startsWith('netns '));
}

/** Wait until the kernel has removed a link (a namespace's teardown runs after `ip netns del` returns). */
async function waitGone(name: string): Promise<void> {
  for (let i = 0; i < 100 && (await linkNamed(name)) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await linkNamed(name), undefined, `link ${name} outlived its namespace`);
}

/**
 * Everything the records say, held against what the kernel and nft show: every ctnet link,
 * address, route, chain and element belongs to a record, every record's objects are there, each
 * address is held once, and the rows add up.
 */
async function assertConsistent(stateDir: string, namespaces: readonly string[]): Promise<{ networks: Network[]; endpoints: Endpoint[] }> {
  const networks = await json<Network[]>(stateDir, ['network', 'ls']);
  const endpoints = await json<Endpoint[]>(stateDir, ['ls']);
  assert.deepEqual(networks.filter((n) => n.status !== 'ready').map((n) => n.name), [], 'half-made networks left');
  assert.deepEqual(endpoints.filter((e) => e.status !== 'ready').map((e) => e.container), [], 'half-made endpoints left');

  const expectedLinks = [...networks.flatMap((n) => (n.bridge === null ? [] : [n.bridge])), ...endpoints.map((e) => e.hostIfname)].sort();
  assert.deepEqual(await ctnetMadeLinks(), expectedLinks, 'links no record owns, or records without their link');

  // Host addresses on ctnet's links: each bridge has its gateway, the veths nothing but link-local.
  const onLinks = (await addrs()).filter((l) => expectedLinks.includes(l.ifname));
  const hostAddrs = onLinks.flatMap((l) => l.addr_info.filter((a) => !a.local.startsWith('fe80:')).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort();
  assert.deepEqual(hostAddrs, networks.flatMap((n) => n.subnets.map((s) => `${n.bridge ?? ''} ${s.gateway}/${s.subnet.split('/')[1] ?? ''}`)).sort());
  // Routes to ctnet's subnets: one per subnet, on its bridge.
  const subnetRoutes = (await ipJson<{ dst: string; dev?: string }[]>(['-4', 'route', 'show'])).filter((r) => r.dst.startsWith('10.78.')).map((r) => `${r.dst} ${r.dev ?? ''}`).sort();
  assert.deepEqual(subnetRoutes, networks.flatMap((n) => n.subnets.map((s) => `${s.subnet} ${n.bridge ?? ''}`)).sort());

  const nft = await nftOwners();
  assert.deepEqual(nft.networks, networks.map((n) => n.id).sort(), 'firewall objects of networks that are gone, or networks without them');
  assert.deepEqual(nft.chains, networks.flatMap((n) => [`n-${n.id}-in`, `n-${n.id}-nat`, `n-${n.id}-out`]).sort());
  assert.deepEqual(nft.endpoints, endpoints.filter((e) => e.ports.length > 0).map((e) => e.id).sort(), 'published ports of endpoints that are gone, or endpoints without them');

  // No address twice, in the records or in the containers, and the containers hold exactly the records'.
  const recorded = endpoints.flatMap((e) => e.addresses);
  assert.equal(new Set(recorded).size, recorded.length, `an address is recorded twice: ${recorded.join(' ')}`);
  const inside: string[] = [];
  for (const ns of namespaces) {
    for (const l of await addrs(ns)) {
      for (const a of l.addr_info) if (a.family === 'inet' && l.ifname !== 'lo') inside.push(`${a.local}/${a.prefixlen}`);
    }
  }
  assert.deepEqual(inside.sort(), [...recorded].sort(), 'container addresses differ from the records');

  assert.deepEqual(rows(stateDir), {
    networks: networks.length,
    endpoints: endpoints.length,
    allocations: recorded.length,
    published_ports: endpoints.reduce((n, e) => n + e.ports.length, 0),
  });
  return { networks, endpoints };
}

/** The container a namespace path or name leads to, among the endpoints. */
function endpointIn(endpoints: readonly Endpoint[], ns: string): Endpoint | undefined {
  return endpoints.find((e) => e.netns === `/run/netns/${ns}`);
}

const CONF = (stateDir: string, hostPort: number): Record<string, unknown> => ({
  cniVersion: '1.0.0', name: 'gc1', type: 'ctnet', subnets: ['10.78.0.0/24'], stateDir, runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
});
const cniEnv = (command: string, id: string, ns: string): Record<string, string> => ({
  CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni',
});

test('kill -9 of connect, CNI ADD and network create at growing delays, then gc: nothing leaked, nothing twice, everything left works', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const env = { ...process.env, CTNET_STATE_DIR: stateDir };
  const baseline = await footprint();
  await cliOk(stateDir, ['network', 'create', 'gc1', '--subnet', '10.78.0.0/24']);
  const namespaces: string[] = [];
  const ns = async (): Promise<string> => {
    const name = await newNetns(t, 'g');
    namespaces.push(name);
    return name;
  };

  // `ctnet connect`, each kill in a container of its own, so the half-made endpoints pile up.
  const first = await ns();
  const connectMs = await timed(() => cliOk(stateDir, ['connect', 'gc1', first, '-p', '18200:80']));
  const connects: { ns: string; port: number }[] = [];
  for (const [i, ms] of killDelays(connectMs).entries()) {
    const c = { ns: await ns(), port: 18201 + i };
    connects.push(c);
    await runKilledAfter(process.execPath, [CLI, 'connect', 'gc1', c.ns, '-p', `${c.port}:80`], env, ms);
  }
  // CNI ADDs, as a runtime runs the plugin.
  const adds: { ns: string; id: string; port: number }[] = [];
  const addMs = await timed(async () => {
    const r = await cniExec(stateDir, cniEnv('ADD', 'gc-ctr-x', await ns()), CONF(stateDir, 18300));
    assert.equal(r.code, 0, r.stdout);
  });
  for (const [i, ms] of killDelays(addMs).entries()) {
    const a = { ns: await ns(), id: `gc-ctr-${i}`, port: 18301 + i };
    adds.push(a);
    await runKilledAfter(process.execPath, [CNI_PLUGIN], cniEnv('ADD', a.id, a.ns), ms, JSON.stringify(CONF(stateDir, a.port)));
  }
  // `ctnet network create`, each of its own network.
  const createMs = await timed(() => cliOk(stateDir, ['network', 'create', 'gcn-x', '--subnet', '10.78.99.0/24']));
  for (const [i, ms] of killDelays(createMs).entries()) {
    await runKilledAfter(process.execPath, [CLI, 'network', 'create', `gcn${i}`, '--subnet', `10.78.${10 + i}.0/24`], env, ms);
  }
  // Containers that vanish under their endpoints without a disconnect. Last, since the kernel may
  // give a namespace made after one is deleted the same inode, and so the same identity.
  const vanished: string[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await ns();
    await cliOk(stateDir, ['connect', 'gc1', c, ...(i === 0 ? ['-p', '18400:80'] : [])]);
    vanished.push(c);
  }
  for (const c of vanished) {
    const hostEnd = endpointIn(await json<Endpoint[]>(stateDir, ['ls']), c)?.hostIfname ?? '';
    await sh('ip', ['netns', 'del', c]);
    namespaces.splice(namespaces.indexOf(c), 1);
    await waitGone(hostEnd);
  }

  const before = { endpoints: await json<Endpoint[]>(stateDir, ['ls']), networks: await json<Network[]>(stateDir, ['network', 'ls']) };
  const landed = (statuses: string[]): string => JSON.stringify(statuses.reduce<Record<string, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {}));
  t.diagnostic(`a whole call: connect ${connectMs} ms, CNI ADD ${addMs} ms, network create ${createMs} ms; kills at ${killDelays(connectMs).join(' ')} ms (connect) and alike`);
  t.diagnostic(`before gc: endpoints ${landed(before.endpoints.map((e) => e.status))}, networks ${landed(before.networks.map((n) => n.status))}`);

  assert.ok([...before.endpoints, ...before.networks].some((r) => r.status !== 'ready'), 'no kill landed half-way: the delays missed every change');
  const dirty = { host: await hostFootprint(), rows: rows(stateDir) };
  const dry = await json<GcReport>(stateDir, ['gc', '--dry-run']);
  assert.equal(dry.dryRun, true);
  assert.deepEqual({ host: await hostFootprint(), rows: rows(stateDir) }, dirty, 'gc --dry-run changed something');
  const report = await json<GcReport>(stateDir, ['gc']);
  const kinds = (r: GcReport): string[] => r.actions.map((a) => `${a.kind} ${a.subject}`).sort();
  assert.deepEqual(kinds(report), kinds(dry), 'gc did other things than its dry run said');
  assert.deepEqual(report.actions.filter((a) => a.error !== undefined), []);
  assert.deepEqual(report.inProgress, []);
  t.diagnostic(`gc: ${landed(report.actions.map((a) => a.kind))}`);
  for (const c of vanished) assert.ok(report.actions.some((a) => a.kind === 'release-endpoint' && a.subject.includes(c)), `${c} was not released`);
  const again = await json<GcReport>(stateDir, ['gc']);
  assert.deepEqual([again.actions, again.inProgress], [[], []], 'a second gc found more');

  const { endpoints } = await assertConsistent(stateDir, namespaces);
  for (const e of endpoints) {
    const container = namespaces.find((n) => e.netns === `/run/netns/${n}`) ?? '';
    assert.ok(await ping(container, '10.78.0.1'), `${e.container} (${e.addresses.join(',')}) cannot reach its gateway`);
  }
  // Every container whose connect or ADD was killed before it was made connects again.
  for (const c of connects) {
    if (endpointIn(endpoints, c.ns) !== undefined) continue;
    await cliOk(stateDir, ['connect', 'gc1', c.ns, '-p', `${c.port}:80`]);
    assert.ok(await ping(c.ns, '10.78.0.1'), `${c.ns} connected again cannot reach its gateway`);
  }
  for (const a of adds) {
    if (endpointIn(endpoints, a.ns) !== undefined) continue;
    const r = await cniExec(stateDir, cniEnv('ADD', a.id, a.ns), CONF(stateDir, a.port));
    assert.equal(r.code, 0, `ADD of ${a.id} again: ${r.stdout}`);
    assert.ok(await ping(a.ns, '10.78.0.1'), `${a.id} added again cannot reach its gateway`);
  }
  // Every network a killed create left is whole now.
  const ct = Ctnet.open({ stateDir });
  try {
    for (const n of ct.listNetworks()) assert.deepEqual(await ct.checkNetwork(n.name), [], `network ${n.name}`);
  } finally {
    ct.close();
  }
  const after = await assertConsistent(stateDir, namespaces);
  assert.equal(after.endpoints.length, 2 + connects.length + adds.length, 'every container is connected once');

  await removeAllCtnetObjects(stateDir);
  assert.deepEqual(await footprint(), baseline);
});

test('a connect or network create killed at each of its steps, then gc: the host as before, the container connects again', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t, 'g');
  const baseline = await footprint();
  const spec = JSON.stringify({ name: 'gc1', subnets: ['10.78.0.0/24'] });
  const createSteps = await runToStep(stateDir, -1, ['create', spec]);
  await cliOk(stateDir, ['network', 'rm', 'gc1']);
  for (const [k, step] of createSteps.entries()) {
    await runToStep(stateDir, k, ['create', spec]);
    const report = await json<GcReport>(stateDir, ['gc']);
    assert.deepEqual(report.actions.map((a) => `${a.kind}${a.error === undefined ? '' : ` ${a.error}`}`), ['complete-network'], `create killed at "${step}"`);
    const ct = Ctnet.open({ stateDir });
    try {
      assert.deepEqual(await ct.checkNetwork('gc1'), [], `create killed at "${step}", then gc`);
    } finally {
      ct.close();
    }
    await cliOk(stateDir, ['network', 'rm', 'gc1']);
    assert.deepEqual(await footprint(), baseline, `create killed at "${step}", gc, rm`);
  }

  await cliOk(stateDir, ['network', 'create', 'gc1', '--subnet', '10.78.0.0/24']);
  const connectArgs = ['connect', 'gc1', c, JSON.stringify({ ports: [{ hostPort: 18700, containerPort: 80, protocol: 'tcp' }] })];
  const connectSteps = await runToStep(stateDir, -1, connectArgs);
  await cliOk(stateDir, ['disconnect', 'gc1', c]);
  const withNetwork = await footprint();
  for (const [k, step] of connectSteps.entries()) {
    await runToStep(stateDir, k, connectArgs);
    assert.deepEqual((await json<GcReport>(stateDir, ['gc'])).actions.map((a) => a.kind), ['remove-endpoint'], `connect killed at "${step}"`);
    assert.deepEqual(await footprint(), withNetwork, `connect killed at "${step}", then gc`);
    assert.deepEqual((await addrs(c)).map((l) => l.ifname), ['lo'], `connect killed at "${step}", then gc: the container kept its side`);
    await cliOk(stateDir, ['connect', 'gc1', c, '-p', '18700:80']);
    assert.ok(await ping(c, '10.78.0.1'), `connect killed at "${step}", gc, connect: no way to the gateway`);
    await cliOk(stateDir, ['disconnect', 'gc1', c]);
  }
});

test('a connect or CNI ADD of a container whose connect was killed at any point finishes it, without gc', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const env = { ...process.env, CTNET_STATE_DIR: stateDir };
  await cliOk(stateDir, ['network', 'create', 'gc1', '--subnet', '10.78.0.0/24']);
  const c = await newNetns(t, 'g');
  const d = await newNetns(t, 'g');
  const connectMs = await timed(() => cliOk(stateDir, ['connect', 'gc1', c, '-p', '18500:80']));
  await cliOk(stateDir, ['disconnect', 'gc1', c]);
  const withNetwork = await footprint();
  const states: string[] = [];
  for (const ms of killDelays(connectMs)) {
    await runKilledAfter(process.execPath, [CLI, 'connect', 'gc1', c, '-p', '18500:80'], env, ms);
    // `ctnet ls` shows how far the killed connect got.
    const table = await cliOk(stateDir, ['ls']);
    assert.match(table.split('\n')[0] ?? '', /\bSTATE\b/);
    states.push(/\b(creating|ready|removing)\b/.exec(table.split('\n')[1] ?? '')?.[1] ?? 'none');
    const r = await cli(stateDir, ['connect', 'gc1', c, '-p', '18500:80']);
    if (states.at(-1) === 'ready') {
      assert.match(r.stderr, /already connected/);
    } else {
      assert.equal(r.code, 0, `connect after a kill at ${ms} ms: ${r.stderr}`);
    }
    assert.ok(await ping(c, '10.78.0.1'), `no way to the gateway after a kill at ${ms} ms and a connect`);
    assert.deepEqual((await json<Endpoint[]>(stateDir, ['ls'])).map((e) => e.status), ['ready']);
    await cliOk(stateDir, ['disconnect', 'gc1', c]);
    assert.deepEqual(await footprint(), withNetwork, `a connect killed at ${ms} ms, connected again and disconnected left something`);
  }
  t.diagnostic(`connect ${connectMs} ms; the killed connects had left: ${states.join(' ')}`);

  const addMs = await timed(async () => {
    assert.equal((await cniExec(stateDir, cniEnv('ADD', 'gc-ctr', d), CONF(stateDir, 18501))).code, 0);
  });
  assert.equal((await cniExec(stateDir, cniEnv('DEL', 'gc-ctr', d), CONF(stateDir, 18501))).code, 0);
  for (const ms of killDelays(addMs)) {
    await runKilledAfter(process.execPath, [CNI_PLUGIN], cniEnv('ADD', 'gc-ctr', d), ms, JSON.stringify(CONF(stateDir, 18501)));
    const r = await cniExec(stateDir, cniEnv('ADD', 'gc-ctr', d), CONF(stateDir, 18501));
    // A runtime whose ADD was killed either retries it or calls DEL; a retry must work either way.
    if (r.code !== 0) assert.match(r.stdout, /already connected/, `ADD after a kill at ${ms} ms`);
    assert.ok(await ping(d, '10.78.0.1'), `no way to the gateway after an ADD killed at ${ms} ms and another ADD`);
    assert.equal((await cniExec(stateDir, cniEnv('DEL', 'gc-ctr', d), CONF(stateDir, 18501))).code, 0);
    assert.deepEqual(await footprint(), withNetwork, `an ADD killed at ${ms} ms, added again and deleted left something`);
  }
});

test('gc leaves a connect that another live process is still making alone', { skip }, async (t: TestContext) => {
  const stateDir = ctnetStateDir(t);
  await cliOk(stateDir, ['network', 'create', 'gc1', '--subnet', '10.78.0.0/24']);
  const c = await newNetns(t, 'g');
  let resume = (): void => undefined;
  let reached = (): void => undefined;
  const atVeth = new Promise<void>((r) => { reached = r; });
  const ct = Ctnet.open({
    stateDir,
    onStep: (step) => (step === 'veth' ? new Promise<void>((r) => { resume = r; reached(); }) : undefined),
  });
  t.after(() => { ct.close(); });
  const connecting = ct.connect('gc1', c);
  await atVeth;
  const report = await json<GcReport>(stateDir, ['gc']);
  assert.deepEqual(report.actions, []);
  assert.deepEqual(report.inProgress.map((a) => a.kind), ['remove-endpoint']);
  resume();
  const ep = await connecting;
  assert.equal(ep.status, 'ready');
  assert.ok(await ping(c, '10.78.0.1'));
  assert.deepEqual((await json<GcReport>(stateDir, ['gc'])).actions, []);
});

test('after a lost database, gc removes the links and firewall objects it described, and networks can be made again', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const baseline = await footprint();
  const c = await newNetns(t, 'g');
  await cliOk(stateDir, ['network', 'create', 'gc1', '--subnet', '10.78.0.0/24']);
  await cliOk(stateDir, ['connect', 'gc1', c, '-p', '18600:80']);
  for (const f of ['ctnet.db', 'ctnet.db-wal', 'ctnet.db-shm']) rmSync(join(stateDir, f), { force: true });
  assert.match((await cli(stateDir, ['network', 'create', 'gc2', '--subnet', '10.78.1.0/24'])).stderr, /holds no networks/);
  const left = await ctnetMadeLinks();
  assert.equal(left.length, 2, left.join(' '));
  const dry = await json<GcReport>(stateDir, ['gc', '--dry-run']);
  assert.deepEqual(dry.actions.map((a) => a.kind).sort(), ['remove-firewall', 'remove-firewall', 'remove-link', 'remove-link']);
  assert.deepEqual(await ctnetMadeLinks(), left, 'gc --dry-run removed something');
  const human = await cliOk(stateDir, ['gc']);
  assert.match(human, /^removed link ct-gc1: it carries ctnet's mark, and no record owns it$/m);
  assert.match(human, /^removed firewall chains and elements of network [0-9a-f]{16}: no record owns them$/m);
  assert.deepEqual(await ctnetMadeLinks(), []);
  assert.deepEqual(await nftOwners(), { chains: [], networks: [], endpoints: [] });
  assert.deepEqual((await addrs(c)).map((l) => l.ifname), ['lo'], 'the container kept its side of the veth');
  assert.deepEqual(await footprint(), baseline);
  assert.equal((await cliOk(stateDir, ['gc'])).trim(), 'nothing to collect');
  await cliOk(stateDir, ['network', 'create', 'gc2', '--subnet', '10.78.1.0/24']);
});
