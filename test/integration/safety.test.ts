/**
 * What ctnet must never do to the host, and what it must never leave behind: the host's own
 * namespace taken as a container, one container attached twice under two spellings, kills at
 * every step of every change, a database that names links ctnet did not make, a lost database,
 * half-made networks that look healthy, attachments of one owner removed by another, and locks.
 * Cases that name the host's namespace (`pid:1`, `/proc/1/ns/net`) run in a private pid namespace
 * too, so that pid 1 is ctnet itself and never the real host's init, even if the refusal breaks.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Ctnet, InvalidConfigError, TimeoutError } from '../../src/index.js';
import {
  CLI,
  CNI_PLUGIN,
  cli,
  cliOk,
  type CliResult,
  cniExec,
  ctnetStateDir,
  dropCtnetTable,
  foreignLink,
  hasCtnetTable,
  hostFootprint,
  ipJson,
  linkNamed,
  links,
  newNetns,
  ping,
  pluginExec,
  runKilledAfter,
  runToStep,
  sandboxSkipReason,
  sh,
  withUplink,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

let subnetCounter = 0;
/** A fresh 10.77.N.0/24 per network, so no two tests of this file share a subnet. */
function nextSubnet(): string {
  return `10.77.${subnetCounter++}.0/24`;
}

/** Run the real `ctnet` inside a new pid namespace: there, pid 1 is this ctnet process. */
function cliInPidNamespace(stateDir: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, CLI, ...args], {
      env: { ...process.env, CTNET_STATE_DIR: stateDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => { resolveRun({ code: code ?? -1, stdout, stderr }); });
  });
}

/** The interface names inside a namespace, without lo. */
async function containerLinks(ns: string): Promise<string[]> {
  return (await links(ns)).map((l) => l.ifname).filter((n) => n !== 'lo');
}

/** A successful CLI call, or one that says the thing is gone already. */
function finishedOrGone(r: CliResult, what: string): void {
  assert.ok(r.code === 0 || /not found|is not connected/.test(r.stderr), `${what}: exit ${r.code}: ${r.stderr}`);
}

test('the namespace ctnet runs in is refused as a container, however it is named', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const subnet = nextSubnet();
  await cliOk(stateDir, ['network', 'create', 'self1', '--subnet', subnet]);
  const before = await hostFootprint();
  const spellings = ['pid:1', '/proc/1/ns/net', '/proc/self/ns/net', '/proc/thread-self/ns/net', '/proc/1/task/1/ns/net', '/run/netns/../../proc/1/ns/net'];
  for (const spelling of spellings) {
    const r = await cliInPidNamespace(stateDir, ['connect', 'self1', spelling]);
    assert.equal(r.code, 2, `${spelling}: exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /network namespace ctnet runs in|must not contain "\." or "\.\."/, spelling);
    assert.deepEqual(await hostFootprint(), before, `${spelling} changed the host`);
  }
  // The CNI plugin, as a runtime would run it with the host's namespace.
  const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'self1', type: 'ctnet', subnets: [subnet], stateDir });
  for (const netns of ['/proc/1/ns/net', '/proc/self/ns/net']) {
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'selfcheck', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
    const r = await pluginExec('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, CNI_PLUGIN], env, conf);
    assert.equal((JSON.parse(r.stdout) as { code: number }).code, 7, `${netns}: ${r.stdout}`);
    assert.deepEqual(await hostFootprint(), before, `CNI ADD of ${netns} changed the host`);
  }
  // The library, in this very process.
  const ct = Ctnet.open({ stateDir });
  t.after(() => { ct.close(); });
  await assert.rejects(ct.connect('self1', '/proc/self/ns/net'), InvalidConfigError);
  assert.deepEqual(await hostFootprint(), before);
});

test('one namespace under two names is one container', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t);
  await cliOk(stateDir, ['network', 'create', 'twice1', '--subnet', nextSubnet()]);
  await cliOk(stateDir, ['connect', 'twice1', c]);
  const dir = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? '/tmp', 'alias-'));
  const alias = join(dir, 'ns');
  writeFileSync(alias, '');
  await sh('mount', ['--bind', `/run/netns/${c}`, alias]);
  t.after(async () => {
    await sh('umount', [alias]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  for (const spelling of [`/run/netns//${c}`, `/run//netns/${c}/`, alias]) {
    const r = await cli(stateDir, ['connect', 'twice1', spelling]);
    assert.notEqual(r.code, 0, spelling);
    assert.match(r.stderr, /already connected/, spelling);
  }
  for (const spelling of [`../../../run/netns/${c}`, `/run/netns/../netns/${c}`, `/run/netns/./${c}`, `run/netns/${c}`]) {
    const r = await cli(stateDir, ['connect', 'twice1', spelling]);
    assert.equal(r.code, 2, `${spelling}: ${r.stderr}`);
  }
  assert.deepEqual(await containerLinks(c), ['eth0']);
  // Disconnect finds the attachment through any name of the namespace.
  await cliOk(stateDir, ['disconnect', 'twice1', alias]);
  assert.deepEqual(await containerLinks(c), []);
  assert.equal((JSON.parse(await cliOk(stateDir, ['--json', 'ls'])) as unknown[]).length, 0);
});

test('a create, rm or connect killed at any step leaves nothing the next command does not finish', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const subnet = nextSubnet();
  const spec = JSON.stringify({ name: 'kill1', subnets: [subnet] });
  const c = await newNetns(t);
  const baseline = await hostFootprint();
  const createSteps = await runToStep(stateDir, -1, ['create', spec]);
  await cliOk(stateDir, ['network', 'rm', 'kill1']);
  assert.ok(createSteps.length >= 5, `create steps: ${createSteps.join(', ')}`);
  for (let k = 0; k < createSteps.length; k++) {
    await runToStep(stateDir, k, ['create', spec]);
    finishedOrGone(await cli(stateDir, ['network', 'rm', 'kill1']), `rm after a create killed at ${createSteps[k]}`);
    assert.deepEqual(await hostFootprint(), baseline, `create killed at ${createSteps[k]}, then rm`);
    // Or the next create finishes the job: a network that really works.
    await runToStep(stateDir, k, ['create', spec]);
    await cliOk(stateDir, ['network', 'create', 'kill1', '--subnet', subnet]);
    const net = JSON.parse(await cliOk(stateDir, ['--json', 'network', 'inspect', 'kill1'])) as { id: string; status: string; subnets: { gateway: string }[] };
    assert.equal(net.status, 'ready');
    assert.ok(await hasCtnetTable(), `create killed at ${createSteps[k]}, created again: no firewall`);
    const chains = await sh('nft', ['list', 'table', 'inet', 'ctnet']);
    assert.match(chains, new RegExp(`chain n-${net.id}-nat`), `create killed at ${createSteps[k]}, created again: no NAT chain`);
    await cliOk(stateDir, ['network', 'rm', 'kill1']);
    assert.deepEqual(await hostFootprint(), baseline);
  }

  await cliOk(stateDir, ['network', 'create', 'kill1', '--subnet', subnet]);
  const connectArgs = ['connect', 'kill1', c, JSON.stringify({ ports: [{ hostPort: 18091, containerPort: 80, protocol: 'tcp' }] })];
  const connectSteps = await runToStep(stateDir, -1, connectArgs);
  await cliOk(stateDir, ['disconnect', 'kill1', c]);
  // After a first port came and went: the bridge keeps the multicast route IPv6 gave it then.
  const withNetwork = await hostFootprint();
  for (let k = 0; k < connectSteps.length; k++) {
    await runToStep(stateDir, k, connectArgs);
    finishedOrGone(await cli(stateDir, ['disconnect', 'kill1', c]), `disconnect after a connect killed at ${connectSteps[k]}`);
    assert.deepEqual(await hostFootprint(), withNetwork, `connect killed at ${connectSteps[k]}, then disconnect`);
    assert.deepEqual(await containerLinks(c), [], `connect killed at ${connectSteps[k]}: container side left`);
  }

  const rmSteps = await runToStep(stateDir, -1, ['rm', 'kill1']);
  for (let k = 0; k < rmSteps.length; k++) {
    await cliOk(stateDir, ['network', 'create', 'kill1', '--subnet', subnet]);
    await runToStep(stateDir, k, ['rm', 'kill1']);
    finishedOrGone(await cli(stateDir, ['network', 'rm', 'kill1']), `rm after an rm killed at ${rmSteps[k]}`);
    assert.deepEqual(await hostFootprint(), baseline, `rm killed at ${rmSteps[k]}, then rm`);
  }
});

test('kills at growing delays: objects left that no command removes, which must be none', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const subnet = nextSubnet();
  const env = { ...process.env, CTNET_STATE_DIR: stateDir };
  const delays = Array.from({ length: 16 }, (_, i) => 30 + i * 12);
  const left = { create: 0, connect: 0, add: 0, rm: 0 };
  // Where each kill landed, by the status the record had afterwards: the probe is only worth
  // something if many kills land half-way.
  const landed: Record<string, number> = {};
  const note = (what: string): void => {
    landed[what] = (landed[what] ?? 0) + 1;
  };
  const statusNow = (): { network: string; endpoint: string } => {
    const ct = Ctnet.open({ stateDir });
    try {
      return { network: ct.listNetworks().find((n) => n.name === 'probe1')?.status ?? 'none', endpoint: ct.listEndpoints()[0]?.status ?? 'none' };
    } finally {
      ct.close();
    }
  };
  const c = await newNetns(t);
  const baseline = await hostFootprint();
  for (const ms of delays) {
    await runKilledAfter(process.execPath, [CLI, 'network', 'create', 'probe1', '--subnet', subnet], env, ms);
    note(`create:${statusNow().network}`);
    finishedOrGone(await cli(stateDir, ['network', 'rm', 'probe1']), `rm after create killed at ${ms} ms`);
    if (JSON.stringify(await hostFootprint()) !== JSON.stringify(baseline)) left.create++;
  }
  await cliOk(stateDir, ['network', 'create', 'probe1', '--subnet', subnet]);
  await cliOk(stateDir, ['connect', 'probe1', c]);
  await cliOk(stateDir, ['disconnect', 'probe1', c]);
  const withNetwork = await hostFootprint();
  for (const ms of delays) {
    await runKilledAfter(process.execPath, [CLI, 'connect', 'probe1', c, '-p', '18092:80'], env, ms);
    note(`connect:${statusNow().endpoint}`);
    finishedOrGone(await cli(stateDir, ['disconnect', 'probe1', c]), `disconnect after connect killed at ${ms} ms`);
    if (JSON.stringify(await hostFootprint()) !== JSON.stringify(withNetwork) || (await containerLinks(c)).length > 0) left.connect++;
  }
  // A runtime's ADD killed half-way; the runtime then calls DEL, as it must after a failed ADD.
  const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'probe1', type: 'ctnet', subnets: [subnet], stateDir, runtimeConfig: { portMappings: [{ hostPort: 18094, containerPort: 80, protocol: 'tcp' }] } });
  const cniEnv = (command: string): Record<string, string> => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', CNI_COMMAND: command, CNI_CONTAINERID: 'probe-ctr', CNI_NETNS: `/run/netns/${c}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' });
  for (const ms of delays) {
    await runKilledAfter(process.execPath, [CNI_PLUGIN], cniEnv('ADD'), ms, conf);
    note(`add:${statusNow().endpoint}`);
    const del = await pluginExec(process.execPath, [CNI_PLUGIN], cniEnv('DEL'), conf);
    assert.equal(del.code, 0, `DEL after an ADD killed at ${ms} ms: ${del.stdout}`);
    if (JSON.stringify(await hostFootprint()) !== JSON.stringify(withNetwork) || (await containerLinks(c)).length > 0) left.add++;
  }
  for (const ms of delays) {
    await cli(stateDir, ['network', 'create', 'probe1', '--subnet', subnet]);
    await runKilledAfter(process.execPath, [CLI, 'network', 'rm', 'probe1'], env, ms);
    note(`rm:${statusNow().network}`);
    finishedOrGone(await cli(stateDir, ['network', 'rm', 'probe1']), `rm after rm killed at ${ms} ms`);
    if (JSON.stringify(await hostFootprint()) !== JSON.stringify(baseline)) left.rm++;
  }
  t.diagnostic(`kills landed (status afterwards): ${JSON.stringify(landed)}`);
  t.diagnostic(`kills at ${delays[0]}..${delays.at(-1)} ms, objects left after recovery: ${JSON.stringify(left)}`);
  assert.deepEqual(left, { create: 0, connect: 0, add: 0, rm: 0 });
});

test('a database that names links ctnet did not make cannot make it delete them', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t);
  await foreignLink(t, 'uplink7');
  await cliOk(stateDir, ['network', 'create', 'lie1', '--subnet', nextSubnet(), '--bridge', 'ct-lie1']);
  const ep = (JSON.parse(await cliOk(stateDir, ['--json', 'connect', 'lie1', c])) as { hostIfname: string });
  t.after(async () => {
    await sh('ip', ['link', 'del', ep.hostIfname]).catch(() => undefined);
    await sh('ip', ['link', 'del', 'ct-lie1']).catch(() => undefined);
  });
  const db = new Database(join(stateDir, 'ctnet.db'));
  db.prepare("UPDATE endpoints SET host_ifname = 'uplink7'").run();
  db.prepare("UPDATE networks SET bridge = 'uplink7'").run();
  db.close();
  await cliOk(stateDir, ['disconnect', 'lie1', c]);
  await cliOk(stateDir, ['network', 'rm', 'lie1']);
  assert.ok((await linkNamed('uplink7')) !== undefined, 'ctnet deleted a link it did not make');
  // Its own links carry its mark; the lying records are gone, the links they should have named stay.
  const detail = await ipJson<{ ifname: string; ifalias?: string }[]>(['-d', 'link', 'show']);
  assert.match(detail.find((l) => l.ifname === 'ct-lie1')?.ifalias ?? '', /^ctnet:[0-9a-f]{8}:[0-9a-f]{16}$/);
  assert.match(detail.find((l) => l.ifname === ep.hostIfname)?.ifalias ?? '', /^ctnet:[0-9a-f]{8}:[0-9a-f]{16}$/);
});

test('a state directory or database other users can write to is refused; the database is made 0600', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  await cliOk(stateDir, ['network', 'ls']);
  const db = join(stateDir, 'ctnet.db');
  assert.equal(statSync(db).mode & 0o777, 0o600);
  const refused = async (pattern: RegExp, what: string): Promise<void> => {
    const r = await cli(stateDir, ['network', 'ls']);
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, pattern, what);
  };
  chmodSync(stateDir, 0o777);
  await refused(/writable by every user/, 'state dir 0777');
  chmodSync(stateDir, 0o770);
  await refused(/writable by its group/, 'state dir 0770');
  chmodSync(stateDir, 0o700);
  chownSync(stateDir, 65534, 65534);
  await refused(/owned by uid 65534/, 'state dir owned by nobody');
  chownSync(stateDir, 0, 0);
  chmodSync(db, 0o666);
  await refused(/state database .* writable by every user/, 'database 0666');
  chmodSync(db, 0o600);
  await cliOk(stateDir, ['network', 'ls']);
  const relative = await cli(stateDir, ['--state-dir', 'relative/state', 'network', 'ls']);
  assert.equal(relative.code, 2, relative.stderr);
  assert.match(relative.stderr, /must be an absolute path/);
});

test('a lost database is reported, not taken for a fresh install', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t);
  await cliOk(stateDir, ['network', 'create', 'lost1', '--subnet', nextSubnet(), '--bridge', 'ct-lost1']);
  await cliOk(stateDir, ['connect', 'lost1', c]);
  t.after(async () => {
    for (const l of await ipJson<{ ifname: string; ifalias?: string }[]>(['-d', 'link', 'show'])) {
      if (l.ifalias?.startsWith('ctnet:') === true) await sh('ip', ['link', 'del', l.ifname]).catch(() => undefined);
    }
    await dropCtnetTable();
  });
  for (const f of ['ctnet.db', 'ctnet.db-wal', 'ctnet.db-shm']) rmSync(join(stateDir, f), { force: true });
  const r = await cli(stateDir, ['network', 'create', 'lost2', '--subnet', nextSubnet()]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /holds no networks.*ct-lost1.*deleted or replaced/);
  assert.equal((JSON.parse(await cliOk(stateDir, ['--json', 'network', 'ls'])) as unknown[]).length, 0, 'the refused create was recorded');
});

test('CHECK fails when the firewall, forwarding or the bridge are gone, and the next ADD completes the network', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const { serverIp } = await withUplink(t);
  const conf = { cniVersion: '1.1.0', name: 'half1', type: 'ctnet', subnets: [nextSubnet()], bridge: 'ct-half1', stateDir };
  const env = (command: string, id: string, ns: string): Record<string, string> => ({
    CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni',
  });
  const add = async (id: string, ns: string): Promise<unknown> => {
    const r = await cniExec(stateDir, env('ADD', id, ns), conf);
    assert.equal(r.code, 0, r.stdout);
    return JSON.parse(r.stdout) as unknown;
  };
  const check = (id: string, ns: string, prevResult: unknown): Promise<{ code: number; stdout: string }> => cniExec(stateDir, env('CHECK', id, ns), { ...conf, prevResult });
  const c1 = await newNetns(t);
  const first = await cniExec(stateDir, env('ADD', 'half-c1', c1), { ...conf, runtimeConfig: { portMappings: [{ hostPort: 18093, containerPort: 80, protocol: 'tcp' }] } })
    .then((r) => JSON.parse(r.stdout) as unknown);
  assert.equal((await check('half-c1', c1, first)).code, 0);
  const breakages: [string, () => Promise<unknown>, RegExp][] = [
    ['nft flush ruleset', () => sh('nft', ['flush', 'ruleset']), /table inet ctnet is missing/],
    ['ip_forward off', () => sh('sysctl', ['-qw', 'net.ipv4.ip_forward=0']), /forwarding is off/],
    ['bridge down', () => sh('ip', ['link', 'set', 'ct-half1', 'down']), /bridge ct-half1 is down/],
  ];
  let n = 2;
  for (const [what, breakIt, expected] of breakages) {
    await breakIt();
    const failed = await check('half-c1', c1, first);
    assert.notEqual(failed.code, 0, `CHECK passed after ${what}`);
    assert.match(failed.stdout, expected, what);
    const c = await newNetns(t);
    await add(`half-c${n++}`, c);
    const again = await check('half-c1', c1, first);
    assert.equal(again.code, 0, `the ADD after ${what} did not complete the network: ${again.stdout}`);
    assert.ok(await ping(c, serverIp), `no way out after ${what} and a new ADD`);
  }
  // A deleted bridge takes its ports with it; the next ADD makes it again, with its gateway.
  await sh('ip', ['link', 'del', 'ct-half1']);
  assert.match((await check('half-c1', c1, first)).stdout, /bridge ct-half1 is missing/);
  const c = await newNetns(t);
  await add(`half-c${n}`, c);
  assert.ok(await ping(c, serverIp), 'no way out after the bridge was deleted and a new ADD');
});

test('CNI DEL and GC touch only CNI attachments, the CLI only its own unless asked', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const cliNs = await newNetns(t);
  const cniNs = await newNetns(t);
  const subnet = nextSubnet();
  await cliOk(stateDir, ['network', 'create', 'own1', '--subnet', subnet]);
  await cliOk(stateDir, ['connect', 'own1', cliNs]);
  const conf = { cniVersion: '1.1.0', name: 'own1', type: 'ctnet', subnets: [subnet], stateDir };
  const env = (command: string, netns?: string): Record<string, string> => ({
    CNI_COMMAND: command, CNI_CONTAINERID: cliNs, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', ...(netns === undefined ? {} : { CNI_NETNS: `/run/netns/${netns}` }),
  });
  const owners = async (): Promise<string[]> => (JSON.parse(await cliOk(stateDir, ['--json', 'ls'])) as { owner: string }[]).map((e) => e.owner).sort();
  // A runtime container whose id is the CLI's netns name (and whose cached result is malformed:
  // DEL does not read it, and must always be able to clean up).
  assert.equal((await cniExec(stateDir, env('DEL'), { ...conf, prevResult: { ips: 5 } })).code, 0);
  assert.deepEqual(await owners(), ['cli']);
  assert.deepEqual(await containerLinks(cliNs), ['eth0']);
  assert.equal((await cniExec(stateDir, env('ADD', cniNs), conf)).code, 0);
  assert.deepEqual(await owners(), ['cli', 'cni']);
  assert.equal((await cniExec(stateDir, { ...env('GC'), CNI_CONTAINERID: '' }, { ...conf, 'cni.dev/valid-attachments': [] })).code, 0);
  assert.deepEqual(await owners(), ['cli']);
  assert.equal((await cniExec(stateDir, env('ADD', cniNs), conf)).code, 0);
  await cliOk(stateDir, ['disconnect', 'own1', cliNs]);
  assert.deepEqual(await owners(), ['cni']);
  assert.deepEqual(await containerLinks(cniNs), ['eth0']);
  await cliOk(stateDir, ['disconnect', 'own1', cliNs, '--cni']);
  assert.deepEqual(await owners(), []);
  assert.deepEqual(await containerLinks(cniNs), []);
});

test('a database another process keeps locked is one "try again later" error, with nothing changed', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t);
  await cliOk(stateDir, ['network', 'create', 'busy1', '--subnet', nextSubnet()]);
  const ep = JSON.parse(await cliOk(stateDir, ['--json', 'connect', 'busy1', c])) as { hostIfname: string };
  const ct = Ctnet.open({ stateDir, lockTimeoutMs: 300 });
  t.after(() => { ct.close(); });
  const holder = new Database(join(stateDir, 'ctnet.db'));
  holder.exec('BEGIN IMMEDIATE');
  try {
    await assert.rejects(ct.disconnect('busy1', c), (err: unknown) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.match(err.message, /locked by another process .*try again later/);
      return true;
    });
    await assert.rejects(ct.connect('busy1', await newNetns(t)), TimeoutError);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  assert.ok((await linkNamed(ep.hostIfname)) !== undefined, 'the veth went although the disconnect failed');
  assert.deepEqual(await containerLinks(c), ['eth0']);
  assert.equal(ct.listEndpoints().length, 1);
  assert.equal(ct.listEndpoints()[0]?.status, 'ready');
});
