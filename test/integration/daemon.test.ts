/**
 * The agent (`ctnet daemon`) as the CLI and a CNI client meet it: the same output and exit codes as
 * in-process, another state directory run in-process, the CLI and the agent side by side on one
 * state directory, `POST /v1/cni` answering as the exec'd plugin does, a stop that lets a connect in
 * flight finish, its socket's rules, and clients that misbehave. Each test starts its own agent with
 * its socket in a temporary directory and stops it by its pid.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { native } from '../../src/native/binding.js';
import { agentRequest, type RunningAgent, startAgent } from '../helpers/agent.js';
import {
  CLI,
  cliWithEnv,
  type CliResult,
  cniExec,
  type CniExecResult,
  ctnetStateDir,
  type IpAddrInfo,
  ipJson,
  type IpLink,
  newNetns,
  ping,
  sandboxSkipReason,
  sh,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

/** `ctnet ARGS` on `stateDir` through the socket given: an agent's, or one nobody listens on (in-process). */
function ctnet(stateDir: string, socket: string, args: readonly string[]): Promise<CliResult> {
  return cliWithEnv({ CTNET_STATE_DIR: stateDir, CTNET_SOCKET: socket }, args);
}

async function ctnetOk(stateDir: string, socket: string, args: readonly string[]): Promise<string> {
  const r = await ctnet(stateDir, socket, args);
  assert.equal(r.code, 0, `ctnet ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** An agent on `stateDir`, stopped (and checked to exit 0) after the test. */
async function agentFor(t: TestContext, stateDir: string, args: readonly string[] = []): Promise<RunningAgent> {
  const agent = await startAgent(stateDir, { args });
  t.after(async () => {
    assert.equal(await agent.stop(), 0, `the agent did not stop cleanly: ${agent.log()}`);
  });
  return agent;
}

/** Poll until `done()` holds; fails after `ms`. */
async function until(what: string, done: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What differs between two runs of the same commands: ids, MACs, host interface names, times. */
function stable(text: string): string {
  return text
    .replace(/\b[0-9a-f]{16}\b/g, '<id>')
    .replace(/"netnsId": "\d+:\d+"/g, '"netnsId": "<netns>"')
    .replace(/\bct[0-9a-f]{12}\b/g, '<veth>')
    .replace(/\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/g, '<mac>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/g, '<time>');
}

test('the agent serves every command with the output, errors, notices and exit codes of an in-process run', { skip }, async (t) => {
  const [c1, c2] = ['dmA', 'dmB'];
  t.after(async () => {
    for (const ns of [c1, c2]) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
  });
  const steps: { args: string[]; exit: number }[] = [
    { args: ['network', 'create', 'same', '--subnet', '10.85.0.0/24'], exit: 0 },
    { args: ['--json', 'network', 'create', 'same2', '--subnet', '10.85.1.0/24', '--driver', 'ptp'], exit: 0 },
    { args: ['connect', 'same', c1], exit: 0 },
    { args: ['--json', 'connect', 'same', c2, '-p', '18185:80'], exit: 0 },
    { args: ['connect', 'same2', c1, '--ip', '10.85.1.9'], exit: 0 },
    { args: ['ls'], exit: 0 },
    { args: ['--json', 'ls'], exit: 0 },
    { args: ['network', 'ls'], exit: 0 },
    { args: ['network', 'inspect', 'same'], exit: 0 },
    { args: ['--json', 'network', 'inspect', 'same2'], exit: 0 },
    { args: ['connect', 'same', c1], exit: 2 },
    { args: ['network', 'create', 'again', '--subnet', '10.85.0.128/25'], exit: 2 },
    { args: ['network', 'rm', 'nope'], exit: 2 },
    { args: ['--json', 'network', 'inspect', 'nope'], exit: 2 },
    { args: ['network', 'create', 'bad', '--subnet', '10.85.2.0/33'], exit: 2 },
    { args: ['connect', 'same', c2, '-p', '99999:80'], exit: 2 },
    { args: ['connect', 'same', '/run/netns/no-such-ns'], exit: 2 },
    { args: ['connect', 'same', 'relative/ns'], exit: 2 },
    { args: ['network', 'rm', 'same'], exit: 2 },
    { args: ['netns', 'del', c2], exit: 2 },
    { args: ['disconnect', 'same', c1], exit: 0 },
    { args: ['--json', 'disconnect', 'same', c1], exit: 2 },
    { args: ['netns', 'del', c2, '--force'], exit: 0 },
    { args: ['disconnect', 'same2', c1], exit: 0 },
    { args: ['network', 'rm', 'same'], exit: 0 },
    { args: ['network', 'rm', 'same2'], exit: 0 },
  ];
  /** The steps on a fresh state directory, forwarding off first so that the first create reports turning it on. */
  const run = async (stateDir: string, socket: string): Promise<string[]> => {
    await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    for (const ns of [c1, c2]) await sh('ip', ['netns', 'add', ns]);
    const out: string[] = [];
    for (const [i, step] of steps.entries()) {
      const r = await ctnet(stateDir, socket, step.args);
      assert.equal(r.code, step.exit, `ctnet ${step.args.join(' ')}: ${r.stderr}`);
      out.push(JSON.stringify({ code: r.code, stdout: stable(r.stdout), stderr: stable(r.stderr) }));
      // Both containers connected: traffic flows between them.
      if (i === 3) assert.ok(await ping(c1, '10.85.0.3'), `no ping from ${c1} to ${c2}`);
    }
    await sh('ip', ['netns', 'del', c1]);
    return out;
  };
  const viaAgent = ctnetStateDir(t);
  const agent = await agentFor(t, viaAgent);
  const served = await run(viaAgent, agent.socket);
  const local = await run(ctnetStateDir(t), join(viaAgent, 'nobody-listens.sock'));
  for (const [i, step] of steps.entries()) assert.equal(served[i], local[i], `ctnet ${step.args.join(' ')}`);
  // The forwarding notice is in both, and the agent really served the first run.
  assert.match(served[0] ?? '', /ctnet: set sysctl net\.ipv4\.ip_forward=1 \(was 0\)/);
  assert.match(agent.log(), /"dmA" connected to network "same"/);
  assert.match(agent.log(), /network "same2" removed/);
});

test('a CLI call for another state directory, or from other namespaces, runs in-process', { skip }, async (t) => {
  const mine = ctnetStateDir(t);
  const other = ctnetStateDir(t);
  const agent = await agentFor(t, mine);
  await ctnetOk(mine, agent.socket, ['network', 'create', 'mine', '--subnet', '10.85.10.0/24']);
  const created = await cliWithEnv({ CTNET_STATE_DIR: mine, CTNET_SOCKET: agent.socket, NODE_DEBUG: 'ctnet' }, ['--state-dir', other, 'network', 'create', 'other', '--subnet', '10.85.11.0/24']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stderr, new RegExp(`serves state directory ${mine}, not ${other}.*; running in this process`));
  const names = async (dir: string): Promise<string[]> => (JSON.parse(await ctnetOk(dir, agent.socket, ['--json', 'network', 'ls'])) as { name: string }[]).map((n) => n.name);
  assert.deepEqual(await names(mine), ['mine']);
  assert.deepEqual(await names(other), ['other']);
  // A CLI in another mount namespace would resolve /run/netns/NAME elsewhere than the agent: in-process.
  const env = `NODE_DEBUG=ctnet CTNET_SOCKET=${agent.socket} CTNET_STATE_DIR=${mine}`;
  const unshared = await sh('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${env} "${process.execPath}" "${CLI}" --json network ls 2>&1`]);
  assert.match(unshared, /are not the agent's .*; running in this process/);
  assert.deepEqual((JSON.parse(unshared.slice(unshared.search(/^\[$/m))) as { name: string }[]).map((n) => n.name), ['mine']);
  assert.doesNotMatch(agent.log(), /"other"/);
  assert.match(agent.log(), /network "mine" created/);
});

test('the CLI in-process and the agent connect at once on one state directory: distinct addresses, one consistent state', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const agent = await agentFor(t, stateDir);
  const nobody = join(stateDir, 'nobody-listens.sock');
  await ctnetOk(stateDir, agent.socket, ['network', 'create', 'mix', '--subnet', '10.85.20.0/24', '--bridge', 'ct-mix']);
  const names = await Promise.all(Array.from({ length: 16 }, () => newNetns(t, 'dm')));
  const socketOf = (i: number): string => (i % 2 === 0 ? agent.socket : nobody);
  const connects = await Promise.all(names.map((ns, i) => ctnet(stateDir, socketOf(i), ['--json', 'connect', 'mix', ns])));
  assert.deepEqual(connects.filter((r) => r.code !== 0).map((r) => r.stderr), []);
  const eps = JSON.parse(await ctnetOk(stateDir, agent.socket, ['--json', 'ls'])) as { container: string; addresses: string[] }[];
  assert.equal(JSON.stringify(eps), JSON.stringify(JSON.parse(await ctnetOk(stateDir, nobody, ['--json', 'ls']))));
  assert.equal(eps.length, names.length);
  assert.equal(new Set(eps.map((e) => e.addresses[0])).size, names.length, 'an address was handed out twice');
  for (const e of eps) {
    const inside = await ipJson<IpAddrInfo[]>(['-4', 'addr', 'show', 'dev', 'eth0'], e.container);
    assert.deepEqual(inside[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`), e.addresses);
  }
  assert.ok(await ping(names[0] ?? '', (eps.find((e) => e.container === names[1])?.addresses[0] ?? '').replace(/\/24$/, '')), 'no ping between an agent-made and an in-process-made container');
  const disconnects = await Promise.all(names.map((ns, i) => ctnet(stateDir, socketOf(i + 1), ['disconnect', 'mix', ns])));
  assert.deepEqual(disconnects.filter((r) => r.code !== 0).map((r) => r.stderr), []);
  assert.deepEqual(JSON.parse(await ctnetOk(stateDir, agent.socket, ['--json', 'ls'])), []);
  assert.deepEqual((await ipJson<IpLink[]>(['link', 'show'])).filter((l) => l.master === 'ct-mix').map((l) => l.ifname), []);
});

interface CniAnswer {
  code: number;
  stdout: string;
}

/** A CNI request through `POST /v1/cni`, as the native client sends it. */
async function cniViaAgent(socket: string, env: Readonly<Record<string, string>>, stdin: string): Promise<CniAnswer & { status: number }> {
  const answer = await agentRequest(socket, 'POST', '/v1/cni', JSON.stringify({ env, stdin }));
  return { status: answer.status, code: Number(answer.headers['ctnet-cni-exit']), stdout: answer.body };
}

test('POST /v1/cni answers ADD, CHECK, DEL and their errors exactly as the exec\'d plugin, and 421 for another state directory', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const agent = await agentFor(t, stateDir);
  const conf = { cniVersion: '1.0.0', name: 'cnid', type: 'ctnet', subnets: ['10.85.30.0/24'], stateDir, runtimeConfig: { portMappings: [{ hostPort: 18186, containerPort: 80, protocol: 'tcp' }] } };
  const text = (extra: Record<string, unknown> = {}): string => JSON.stringify({ ...conf, ...extra });
  const env = (command: string, id: string, ns: string): Record<string, string> => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' });
  type Send = (env: Record<string, string>, stdin: string) => Promise<CniAnswer>;
  const exec: Send = (e, stdin) => cniExec(undefined, e, stdin).then((r: CniExecResult) => ({ code: r.code, stdout: r.stdout }));
  const viaAgent: Send = async (e, stdin) => {
    const { status, ...r } = await cniViaAgent(agent.socket, e, stdin);
    assert.equal(status, 200, r.stdout);
    return r;
  };
  /** One container's life through `send`, every answer with what differs between two containers replaced. */
  const life = async (send: Send, id: string): Promise<string[]> => {
    const ns = await newNetns(t, 'dc');
    const answers: CniAnswer[] = [];
    const add = await send(env('ADD', id, ns), text());
    answers.push(add);
    assert.equal(add.code, 0, add.stdout);
    answers.push(await send(env('CHECK', id, ns), text({ prevResult: JSON.parse(add.stdout) as unknown })));
    answers.push(await send(env('ADD', id, ns), text()));
    answers.push(await send(env('CHECK', id, ns), text()));
    answers.push(await send(env('ADD', id, ns), '{"cniVersion": "1.0.0", '));
    answers.push(await send(env('ADD', `${id}-x`, 'no-such-ns'), text({ runtimeConfig: {} })));
    answers.push(await send(env('VERSION', id, ns), '{"cniVersion":"1.0.0"}'));
    answers.push(await send({ CNI_PATH: '/usr/lib/cni' }, ''));
    answers.push(await send(env('DEL', id, ns), text()));
    answers.push(await send(env('DEL', id, ns), text()));
    return answers.map((a) => JSON.stringify({ code: a.code, stdout: stable(a.stdout) }).replaceAll(id, '<ctr>').replaceAll(ns, '<ns>').replace(/10\.85\.30\.(?:[2-9]|\d\d+)\//g, '10.85.30.<ip>/'));
  };
  const execd = await life(exec, 'cni-exec');
  // The port is free again after the DEL, so the same config works for the second container.
  const served = await life(viaAgent, 'cni-agent');
  assert.deepEqual(served, execd);
  assert.match(agent.log(), /"cni-agent" connected to network "cnid"/);
  assert.match(served[2] ?? '', /is already connected to network/);

  // Another state directory, through the config or the environment, or the default: 421, nothing done.
  const other = ctnetStateDir(t);
  const ns = await newNetns(t, 'dc');
  for (const [e, stdin] of [
    [env('ADD', 'cni-other', ns), text({ stateDir: other })],
    [{ ...env('ADD', 'cni-other', ns), CTNET_STATE_DIR: other }, text({ stateDir: undefined })],
    [env('DEL', 'cni-other', ns), text({ stateDir: undefined })],
  ] as const) {
    const r = await cniViaAgent(agent.socket, e, stdin);
    assert.equal(r.status, 421, r.stdout);
    assert.equal((JSON.parse(r.stdout) as { code: string }).code, 'CTNET_MISDIRECTED');
  }
  // The agent answers VERSION whatever the state directory.
  assert.equal((await cniViaAgent(agent.socket, env('VERSION', 'cni-other', ns), text({ stateDir: other }))).status, 200);
  assert.deepEqual(JSON.parse(await ctnetOk(stateDir, agent.socket, ['--json', 'ls'])), []);
  assert.equal(existsSync(join(other, 'ctnet.db')), false, 'the agent opened the other state directory');
});

/** Whether process `pid` has `path` open. */
function holdsOpen(pid: number, path: string): boolean {
  const fds = `/proc/${pid}/fd`;
  return readdirSync(fds).some((fd) => {
    try {
      return readlinkSync(join(fds, fd)) === path;
    } catch {
      return false;
    }
  });
}

test('SIGTERM with a connect in flight: the connect completes and works, then the agent exits 0 and its socket is gone', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const agent = await startAgent(stateDir);
  t.after(() => agent.stop('SIGKILL'));
  const c = await newNetns(t, 'dt');
  await ctnetOk(stateDir, agent.socket, ['network', 'create', 'term', '--subnet', '10.85.40.0/24']);
  // Held exclusively here, the network's lock keeps the agent's connect waiting, in flight.
  const lock = join(stateDir, 'locks', 'network-term.lock');
  const fd = openSync(lock, 'a');
  let released = false;
  const release = (): void => {
    if (!released) closeSync(fd);
    released = true;
  };
  t.after(release);
  assert.ok(native.flock(fd, true, false));
  const connecting = ctnet(stateDir, agent.socket, ['--json', 'connect', 'term', c]);
  await until('the agent waits for the network lock', () => holdsOpen(agent.pid, lock));
  process.kill(agent.pid, 'SIGTERM');
  await until('the agent is stopping', () => agent.log().includes('SIGTERM: stopping'));
  // It takes no new calls: this one runs in-process, and the agent is still there.
  assert.deepEqual((JSON.parse(await ctnetOk(stateDir, agent.socket, ['--json', 'network', 'ls'])) as { name: string }[]).map((n) => n.name), ['term']);
  assert.ok(existsSync(`/proc/${agent.pid}`), 'the agent exited with a connect in flight');
  release();
  const connected = await connecting;
  assert.equal(connected.code, 0, connected.stderr);
  const ep = JSON.parse(connected.stdout) as { addresses: string[] };
  assert.deepEqual(ep.addresses, ['10.85.40.2/24']);
  assert.ok(await ping(c, '10.85.40.1'), 'the container connected during the stop cannot reach its gateway');
  assert.equal(await agent.exited, 0, agent.log());
  assert.equal(existsSync(agent.socket), false, 'the socket outlived the agent');
  assert.match(agent.log(), /"dt[^"]*" connected to network "term"[\s\S]*stopped/);
});

test('one agent per socket in a private directory; a stale socket is replaced; JSON log lines in a file reopened on SIGHUP', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const dir = mkdtempSync(join(stateDir, 'run-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  const socket = join(dir, 'sub', 'ctnet.sock');
  const logFile = join(dir, 'agent.log');
  const first = await startAgent(stateDir, { socket, args: ['--log-json', '--log-file', logFile] });
  t.after(() => first.stop('SIGKILL'));
  assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
  const st = statSync(socket);
  assert.ok(st.isSocket());
  assert.deepEqual([st.mode & 0o777, st.uid, st.gid], [0o600, 0, 0]);

  // A second agent on the socket is refused and leaves the first one serving.
  const second = await cliWithEnv({ CTNET_STATE_DIR: stateDir }, ['daemon', '--socket', socket]);
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /^ctnet: another ctnet agent runs on .*ctnet\.sock/);
  assert.equal((await agentRequest(socket, 'GET', '/v1/version')).status, 200);

  // The log: JSON lines, a new file after logrotate's rename and SIGHUP.
  await ctnetOk(stateDir, socket, ['network', 'create', 'logged', '--subnet', '10.85.50.0/24']);
  renameSync(logFile, `${logFile}.1`);
  process.kill(first.pid, 'SIGHUP');
  await until('the log is reopened', () => existsSync(logFile));
  await ctnetOk(stateDir, socket, ['network', 'rm', 'logged']);
  const lines = (file: string): { event: string; msg: string; network?: string }[] =>
    readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; msg: string });
  const rotated = lines(`${logFile}.1`);
  assert.deepEqual(rotated.filter((l) => l.event === 'network-created').map((l) => l.network), ['logged']);
  assert.deepEqual(lines(logFile).filter((l) => l.event === 'network-removed').map((l) => l.network), ['logged']);
  assert.equal(rotated[0]?.event, 'agent-started');

  // Killed, the agent leaves its socket behind; the next one replaces it.
  assert.equal(await first.stop('SIGKILL'), 'SIGKILL');
  assert.ok(existsSync(socket));
  const next = await startAgent(stateDir, { socket });
  t.after(() => next.stop());
  assert.match(next.log(), /removed the stale socket/);
  assert.equal(await next.stop(), 0);
  assert.equal(existsSync(socket), false);
});

/** Write `text` on a new connection and collect what comes back until the agent closes it. */
function rawExchange(socket: string, chunks: readonly (string | Buffer)[]): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(socket);
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => { resolve(got); });
    s.on('connect', () => {
      for (const chunk of chunks) s.write(chunk);
    });
  });
}

/** Status and error code of a raw HTTP answer. */
function statusAndCode(raw: string): [number, string] {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  try {
    return [status, (JSON.parse(body) as { code: string }).code];
  } catch {
    throw new Error(`not an HTTP answer with a JSON body: ${JSON.stringify(raw.slice(0, 500))}`);
  }
}

test('hostile clients each get a clear error, change nothing, and everybody else is still served', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const agent = await agentFor(t, stateDir);
  const c = await newNetns(t, 'dh');
  await ctnetOk(stateDir, agent.socket, ['network', 'create', 'calm', '--subnet', '10.85.60.0/24']);
  await ctnetOk(stateDir, agent.socket, ['connect', 'calm', c, '-p', '18187:80']);
  const before = await ctnetOk(stateDir, agent.socket, ['--json', 'ls']);

  // Hundreds of connections that send nothing, or headers that never end.
  const hanging: Socket[] = [];
  const closed: Promise<void>[] = [];
  for (let i = 0; i < 400; i++) {
    const s = connect(agent.socket);
    s.on('error', () => undefined);
    closed.push(new Promise((resolve) => s.on('close', () => { resolve(); })));
    if (i % 4 === 0) s.on('connect', () => s.write('GET /v1/networks HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    hanging.push(s);
  }
  t.after(() => { for (const s of hanging) s.destroy(); });

  const header = (path: string, extra: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;
  assert.deepEqual(statusAndCode(await rawExchange(agent.socket, ['NONSENSE\r\n\r\n'])), [400, 'CTNET_BAD_REQUEST']);
  assert.deepEqual(statusAndCode(await rawExchange(agent.socket, [`GET /v1/networks HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`])), [400, 'CTNET_BAD_REQUEST']);
  const tenMiB = Buffer.alloc(10 * 1024 * 1024, 0x61);
  assert.deepEqual(statusAndCode(await rawExchange(agent.socket, [header('/v1/networks', `Content-Length: ${tenMiB.length}\r\n`), tenMiB])), [413, 'CTNET_TOO_LARGE']);
  const chunked = [header('/v1/cni', 'Transfer-Encoding: chunked\r\n'), ...Array.from({ length: 10 }, () => Buffer.concat([Buffer.from(`${(1024 * 1024).toString(16)}\r\n`), tenMiB.subarray(0, 1024 * 1024), Buffer.from('\r\n')])), '0\r\n\r\n'];
  assert.deepEqual(statusAndCode(await rawExchange(agent.socket, chunked)), [413, 'CTNET_TOO_LARGE']);

  const api = async (method: string, path: string, body?: string): Promise<[number, string]> => {
    const r = await agentRequest(agent.socket, method, path, body);
    return [r.status, (JSON.parse(r.body) as { code: string }).code];
  };
  assert.deepEqual(await api('POST', '/v1/networks', '{"name": "x", '), [400, 'CTNET_BAD_REQUEST']);
  assert.deepEqual(await api('POST', '/v1/networks', '{"name": 5, "subnets": ["10.85.61.0/24"]}'), [400, 'CTNET_INVALID_CONFIG']);
  assert.deepEqual(await api('POST', '/v1/networks', '[]'), [400, 'CTNET_INVALID_CONFIG']);
  assert.deepEqual(await api('POST', '/v1/networks/calm/endpoints', '{"container": 5}'), [400, 'CTNET_BAD_REQUEST']);
  assert.deepEqual(await api('POST', '/v1/networks/calm/endpoints', JSON.stringify({ container: c, options: { ips: '10.85.60.9' } })), [400, 'CTNET_BAD_REQUEST']);
  assert.deepEqual(await api('POST', '/v1/networks/calm/endpoints', JSON.stringify({ container: c, options: { ports: [42] } })), [400, 'CTNET_INVALID_CONFIG']);
  assert.deepEqual(await api('DELETE', '/v1/networks/calm/endpoints/x?owner=root'), [400, 'CTNET_BAD_REQUEST']);
  assert.deepEqual(await api('POST', '/v1/cni', '{"env": {"CNI_COMMAND": 7}, "stdin": ""}'), [400, 'CTNET_BAD_REQUEST']);
  assert.deepEqual(await api('GET', '/v1/networks/%zz'), [400, 'CTNET_BAD_REQUEST']);
  assert.deepEqual(await api('GET', '/v1/nothing'), [404, 'CTNET_NO_ROUTE']);
  assert.deepEqual(await api('PUT', '/v1/networks'), [405, 'CTNET_METHOD_NOT_ALLOWED']);

  // Clients that go away mid-request: a body cut short, and a CNI ADD whose answer nobody waits for
  // (its attachment is undone, as the exec'd plugin undoes an ADD whose stdout is closed).
  const cut = connect(agent.socket);
  cut.on('error', () => undefined);
  cut.on('connect', () => {
    cut.write(header(`/v1/networks/calm/endpoints`, 'Content-Length: 100\r\n'));
    cut.end('{"container": ');
  });
  const d = await newNetns(t, 'dh');
  const add = JSON.stringify({
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'gone-ctr', CNI_NETNS: `/run/netns/${d}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
    stdin: JSON.stringify({ cniVersion: '1.0.0', name: 'calm', type: 'ctnet', subnets: ['10.85.60.0/24'], stateDir }),
  });
  const gone = connect(agent.socket);
  gone.on('error', () => undefined);
  gone.on('connect', () => {
    gone.write(`${header('/v1/cni', `Content-Length: ${Buffer.byteLength(add)}\r\n`)}${add}`);
    gone.destroy();
  });
  await until('the ADD nobody waits for is undone', () => agent.log().includes('failed to write the ADD result')).catch((err: unknown) => {
    throw new Error(`${String(err)}: ${agent.log()}`);
  });
  assert.match(agent.log(), /"gone-ctr" connected[^\n]*\n[\s\S]*"gone-ctr" disconnected/);

  // Meanwhile everybody else is served, by the agent, and sees nothing changed.
  assert.equal((await agentRequest(agent.socket, 'GET', '/v1/version')).status, 200);
  assert.equal(await ctnetOk(stateDir, agent.socket, ['--json', 'ls']), before);
  // The hanging connections are closed by the agent's deadlines, not by this test.
  await Promise.all(closed);
  assert.equal(await ctnetOk(stateDir, agent.socket, ['--json', 'ls']), before);
  assert.deepEqual((JSON.parse(await ctnetOk(stateDir, agent.socket, ['--json', 'network', 'ls'])) as { name: string }[]).map((n) => n.name), ['calm']);
});
