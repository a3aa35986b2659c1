/**
 * What a new user meets in the first minutes: the README's library snippet as written, ptp
 * addresses recorded as the kernel has them (and CNI CHECK on ptp), refusals that exit 2, a
 * connected namespace that cannot be deleted by accident, and the library's edges (ports as
 * people write them, bad specs, a closed engine).
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ctnet, InvalidConfigError, StateError } from '../../src/index.js';
import {
  addrs,
  cli,
  cliOk,
  cniExec,
  ctnetStateDir,
  newNetns,
  REPO_ROOT,
  sandboxSkipReason,
  sh,
  tcpRequest,
  tcpServer,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

test('the README library snippet runs as written', { skip }, async (t) => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(snippet !== undefined, 'README has no ts block');
  const expected = /console\.log\(ep\.addresses\); \/\/ (.*)/.exec(snippet)?.[1];
  assert.ok(expected !== undefined, 'the snippet no longer prints ep.addresses');
  const index = join(REPO_ROOT, 'dist/src/index.js');
  // The snippet as written, then what takes its network away again.
  const program = `${snippet.replace("from 'ctnet'", `from ${JSON.stringify(index)}`)}
const again = Ctnet.open({ stateDir: '/var/lib/ctnet' });
await again.disconnect('mynet', 'net1');
await again.removeNetwork('mynet');
again.close();
`;
  const file = join(process.env['CTNET_STATE_DIR'] ?? '/tmp', `readme-${process.pid}.mjs`);
  writeFileSync(file, program);
  t.after(() => { rmSync(file, { force: true }); });
  await sh('ip', ['netns', 'add', 'net1']);
  t.after(() => sh('ip', ['netns', 'del', 'net1']).catch(() => undefined));
  // /var/lib/ctnet as the snippet says, but on a tmpfs of a mount namespace of its own.
  const out = await new Promise<string>((resolveRun, reject) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o mode=0755 readme /var/lib && exec "$0" "$1"', process.execPath, file]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      if (code === 0) resolveRun(stdout);
      else reject(new Error(`snippet exited ${String(code)}: ${stderr}`));
    });
  });
  assert.equal(out.trim(), expected.trim());
});

test('ptp addresses are recorded as the kernel has them, and CNI CHECK passes on ptp', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t);
  await cliOk(stateDir, ['network', 'create', 'p2p1', '--driver', 'ptp', '--subnet', '10.79.1.0/24', '--subnet', 'fd00:79:1::/64']);
  const ep = JSON.parse(await cliOk(stateDir, ['--json', 'connect', 'p2p1', c])) as { addresses: string[] };
  const kernel = (await addrs(c)).flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`)).sort();
  assert.deepEqual([...ep.addresses].sort(), kernel);
  const listed = JSON.parse(await cliOk(stateDir, ['--json', 'ls'])) as { addresses: string[] }[];
  assert.deepEqual([...(listed[0]?.addresses ?? [])].sort(), kernel);
  const inspected = JSON.parse(await cliOk(stateDir, ['--json', 'network', 'inspect', 'p2p1'])) as { endpoints: { addresses: string[] }[] };
  assert.deepEqual([...(inspected.endpoints[0]?.addresses ?? [])].sort(), kernel);

  const conf = { cniVersion: '1.1.0', name: 'p2p2', type: 'ctnet', driver: 'ptp', subnets: ['10.79.2.0/24'], stateDir };
  const d = await newNetns(t);
  const env = (command: string): Record<string, string> => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'ptp-ctr', CNI_NETNS: `/run/netns/${d}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' });
  const added = await cniExec(stateDir, env('ADD'), conf);
  assert.equal(added.code, 0, added.stdout);
  const result = JSON.parse(added.stdout) as { ips: { address: string }[]; interfaces: { name: string }[] };
  assert.match(result.ips[0]?.address ?? '', /^10\.79\.2\.\d+\/32$/);
  const checked = await cniExec(stateDir, env('CHECK'), { ...conf, prevResult: result });
  assert.equal(checked.code, 0, checked.stdout);
  const hostEnd = result.interfaces.find((i) => i.name.startsWith('ct'))?.name ?? '';
  await sh('ip', ['link', 'del', hostEnd]);
  const broken = await cniExec(stateDir, env('CHECK'), { ...conf, prevResult: result });
  assert.notEqual(broken.code, 0);
  assert.match(broken.stdout, /host interface .* is missing/);
  assert.equal((await cniExec(stateDir, env('DEL'), conf)).code, 0);
});

test('a connected namespace is not deleted unless asked, and --force disconnects it first', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t);
  await cliOk(stateDir, ['network', 'create', 'del1', '--subnet', '10.79.3.0/24']);
  await cliOk(stateDir, ['connect', 'del1', c, '-p', '18095:80']);
  const refused = await cli(stateDir, ['netns', 'del', c]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /is connected to network "del1"; disconnect it first, or delete it with --force/);
  assert.ok((await sh('ip', ['netns', 'list'])).includes(c), 'the namespace went although the delete was refused');
  await cliOk(stateDir, ['netns', 'del', c, '--force']);
  assert.ok(!(await sh('ip', ['netns', 'list'])).includes(c));
  assert.deepEqual(JSON.parse(await cliOk(stateDir, ['--json', 'ls'])), []);
  // Its published port is free again.
  const d = await newNetns(t);
  await cliOk(stateDir, ['connect', 'del1', d, '-p', '18095:80']);
  await tcpServer(t, d, '0.0.0.0', 80);
  assert.ok((await tcpRequest(undefined, '127.0.0.1', 18095)) !== undefined, 'the port does not reach the new container');
});

test('refusals that change nothing exit 2, failures 1', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const c = await newNetns(t);
  await cliOk(stateDir, ['network', 'create', 'exit1', '--subnet', '10.79.4.0/24']);
  await cliOk(stateDir, ['connect', 'exit1', c]);
  const refusals: [string[], RegExp][] = [
    [['network', 'create', 'exit1', '--subnet', '10.79.5.0/24'], /already exists/],
    [['network', 'create', 'exit2', '--subnet', '10.79.4.128/25'], /overlaps/],
    [['network', 'rm', 'nope'], /not found/],
    [['connect', 'exit1', c], /already connected/],
    [['network', 'rm', 'exit1'], /still has 1 endpoint/],
  ];
  for (const [args, message] of refusals) {
    const r = await cli(stateDir, args);
    assert.equal(r.code, 2, `ctnet ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('the library takes ports as people write them, refuses bad specs clearly, and a closed engine says so', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const ct = Ctnet.open({ stateDir });
  t.after(() => { ct.close(); });
  const events: string[] = [];
  ct.on('network-created', (n) => events.push(`created ${n.name} ${n.status}`));
  ct.on('endpoint-connected', (e) => events.push(`connected ${e.network} ${e.addresses.join(',')}`));
  ct.on('endpoint-disconnected', (e) => events.push(`disconnected ${e.network} ${e.addresses.join(',')}`));
  ct.on('network-removed', (n) => events.push(`removed ${n.name}`));
  // A listener that throws cannot fail the change it hears about.
  ct.on('network-created', () => {
    throw new Error('listener bug');
  });
  await ct.createNetwork({ name: 'lib1', subnets: ['10.79.6.0/24'] });
  const a = await newNetns(t);
  const b = await newNetns(t);
  const epA = await ct.connect('lib1', a, { ports: ['18096:80', '127.0.0.1:18097:81/udp'] });
  assert.deepEqual(epA.ports.map((p) => `${p.hostIp ?? '*'}:${p.hostPort}:${p.containerPort}/${p.protocol}`), ['*:18096:80/tcp', '127.0.0.1:18097:81/udp']);
  const epB = await ct.connect('lib1', b, { ports: [{ hostPort: 18098, containerPort: 80 }] });
  assert.deepEqual(epB.ports.map((p) => p.protocol), ['tcp']);
  const bad: [unknown, RegExp][] = [
    [{ name: 'lib2' }, /"subnets" is required/],
    [{ name: 'lib2', subnets: '10.79.7.0/24' }, /"subnets" must be a list of strings/],
    [{ name: 'lib2', subnets: ['10.79.7.0/24'], mtu: '1500' }, /"mtu" must be a number/],
    [null, /expected an object/],
  ];
  for (const [spec, message] of bad) {
    await assert.rejects(ct.createNetwork(spec as Parameters<Ctnet['createNetwork']>[0]), (err: unknown) => err instanceof InvalidConfigError && message.test(err.message));
  }
  const c = await newNetns(t);
  for (const ports of [[{ hostPort: 'x', containerPort: 80 }], [42], [{ hostPort: 1, containerPort: 2, protocol: 'sctp' }]]) {
    await assert.rejects(ct.connect('lib1', c, { ports: ports as never }), InvalidConfigError);
  }
  await ct.disconnect('lib1', b);
  await ct.createNetwork({ name: 'lib3', subnets: ['10.79.8.0/24'] });
  await ct.removeNetwork('lib3');
  assert.deepEqual(events, [
    'created lib1 ready',
    'connected lib1 10.79.6.2/24',
    'connected lib1 10.79.6.3/24',
    'disconnected lib1 10.79.6.3/24',
    'created lib3 ready',
    'removed lib3',
  ]);
  const closed = Ctnet.open({ stateDir });
  closed.close();
  assert.throws(() => closed.listNetworks(), (err: unknown) => err instanceof StateError && /closed/.test(err.message));
  await assert.rejects(closed.connect('lib1', c), StateError);
});
