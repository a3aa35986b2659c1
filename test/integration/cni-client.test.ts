/**
 * The native CNI client (native/cni/ctnet-cni.c) as runtimes run it, installed by the real
 * `ctnet install-cni --dir`:
 *  - the install itself (mode, content, nothing left beside it, errors);
 *  - VERSION answered by the client byte for byte as the Node plugin answers it, for plain and for
 *    odd configs (the odd ones it hands to the Node plugin);
 *  - without an agent, ADD, CHECK and DEL through the client, with no PATH at all, exactly as
 *    through the Node plugin (real namespace, ping the gateway);
 *  - the wire to the agent, against a fake agent (an HTTP server on a unix socket in the test's
 *    directory) that records each request and answers as the test says: the request line,
 *    headers, environment and stdin byte for byte; the answer's body and exit status; 421 and a
 *    dead agent's socket fall back to the Node plugin; a refusal, a malformed answer, no answer and
 *    a cut-off answer are CNI error 11;
 *  - podman 4.3 with the installed client as its ctnet plugin, without and with the agent running
 *    (the agent in the lab's mount namespace, on the default socket conmon's cleanup finds).
 * Runs only as root inside scripts/sandbox.sh (podman's part also needs podman).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CT_NET, ctnetContainerRows, ctnetPortElements, ctnetVeths, PodmanLab, podmanSkipReason } from '../helpers/podman.js';
import {
  cli,
  type CliResult,
  CNI_PLUGIN,
  type CniExecResult,
  cliWithEnv,
  ctnetStateDir,
  NATIVE_CNI_CLIENT,
  newNetns,
  ping,
  pluginExec,
  sandboxSkipReason,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();
const podmanSkip = podmanSkipReason();
if (skip === undefined && podmanSkip !== undefined) console.log(`# cni-client.test: podman part skipped: ${podmanSkip}`);


type Env = Record<string, string | undefined>;

/** Run `file` as a runtime would, with exactly `env` (PATH too only when `env` has it). */
function exec(file: string, env: Env, stdin: string | Uint8Array): Promise<CniExecResult> {
  return pluginExec(file, [], { PATH: undefined, ...env }, stdin);
}

/** The Node plugin run the same way: the reference the client is held to. */
function execNode(env: Env, stdin: string | Uint8Array): Promise<CniExecResult> {
  return pluginExec(process.execPath, [CNI_PLUGIN], { PATH: undefined, ...env }, stdin);
}

function describeRun(r: CliResult): string {
  return `exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
}

interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** A run that failed with CNI error `code`: exit 1 and the error object on stdout. */
function cniError(r: CniExecResult, code: number): CniErrorJson {
  assert.equal(r.code, 1, describeRun(r));
  const body = JSON.parse(r.stdout) as CniErrorJson;
  assert.equal(body.code, code, describeRun(r));
  return body;
}

/** A temporary directory for one test, removed afterwards. */
function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(process.env['CTNET_STATE_DIR'] ?? tmpdir(), prefix));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

/** `ctnet install-cni --dir DIR` by the real CLI; the installed plugin's path. */
async function installClient(dir: string): Promise<string> {
  const r = await cliWithEnv({}, ['install-cni', '--dir', dir]);
  assert.equal(r.code, 0, `ctnet install-cni: ${r.stderr}`);
  return join(dir, 'ctnet');
}

/** One request as the fake agent received it. */
interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

/**
 * A fake agent on `socket`: records every request, then lets `answer` respond (or not, or break
 * the connection). Stopped, with every connection cut, after the test.
 */
async function fakeAgent(t: TestContext, socket: string, answer: (res: ServerResponse) => void): Promise<Received[]> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, raw: Buffer.concat(chunks) });
      answer(res);
    });
  });
  server.listen(socket);
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return received;
}

test('ctnet install-cni and the native CNI client', { skip, timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(NATIVE_CNI_CLIENT), `${NATIVE_CNI_CLIENT} is missing: npm run build compiles it`);
  const dir = tempDir(t, 'cni-client-');
  const pluginDir = join(dir, 'bin');
  const plugin = await installClient(pluginDir);
  // The agent is down for every run that names no socket of its own.
  const noAgent = join(dir, 'no-agent.sock');

  await t.test('install-cni installs an executable DIR/ctnet, replaces it atomically, and speaks of podman', async () => {
    assert.equal(statSync(plugin).mode & 0o7777, 0o755);
    assert.deepEqual(readFileSync(plugin), readFileSync(NATIVE_CNI_CLIENT));
    const again = await cliWithEnv({}, ['--json', 'install-cni', '--dir', pluginDir]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { path: plugin, source: NATIVE_CNI_CLIENT });
    assert.match(again.stderr, /"notice":.*\/usr\/lib\/cni/, 'the notice names /usr/lib/cni');
    assert.deepEqual(readdirSync(pluginDir), ['ctnet'], 'no temporary file is left beside it');
    const human = await cliWithEnv({}, ['install-cni', '--dir', pluginDir]);
    assert.equal(human.stdout, `installed ${plugin} (from ${NATIVE_CNI_CLIENT})\n`);
    assert.match(human.stderr, /^ctnet: podman on Debian looks for plugins in \/usr\/lib\/cni too/);
  });

  await t.test('install-cni into a path that is a file fails with exit 1 and says why', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await cliWithEnv({}, ['install-cni', '--dir', file]);
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, new RegExp(`^ctnet: create ${file}: E(EXIST|NOTDIR)`));
  });

  await t.test("VERSION from the client is the Node plugin's, byte for byte, without PATH", async () => {
    const configs: (string | Uint8Array)[] = [
      '{"cniVersion":"1.0.0","name":"n","type":"ctnet"}',
      '',
      '{}',
      ' {"cniVersion" : "0.4.0" } \n',
      '{"cniVersion":""}',
      '{"cniVersion":"1.0.0","cniVersion":7}',
      '{"cniVersion":7,"cniVersion":"0.3.1"}',
      '{"cni\\u0056ersion":"1.\\u0030.0"}',
      '{"cniVersion":"q\\"b\\\\s\\/\\u00e9\\u0001\\n\\ud83d\\ude00 é日本","x":[1,-0.5e+3,true,false,null,{"a":[]}]}',
      // Handed to the Node plugin: not an object, not JSON, a lone surrogate, a byte that is no UTF-8.
      '[1]',
      'null',
      '{',
      '{"a":01}',
      '{"cniVersion":"1.0.0"} x',
      '{"cniVersion":"\\ud800"}',
      Buffer.from('{"cniVersion":"1.0.\xff"}', 'latin1'),
    ];
    for (const config of configs) {
      const env = { CNI_COMMAND: 'VERSION', CTNET_SOCKET: noAgent };
      const [client, node] = await Promise.all([exec(plugin, env, config), execNode(env, config)]);
      assert.deepEqual(client, { ...node, ms: client.ms }, `config ${JSON.stringify(config.toString())}`);
    }
    // The Node plugin refuses a malformed CNI_CONTAINERID even for VERSION; so does the client.
    const env = { CNI_COMMAND: 'VERSION', CNI_CONTAINERID: 'no/slash' };
    const [client, node] = await Promise.all([exec(plugin, env, '{}'), execNode(env, '{}')]);
    assert.deepEqual(client, { ...node, ms: client.ms });
    assert.equal(cniError(client, 4).msg, 'invalid CNI_CONTAINERID');
  });

  await t.test('no CNI_COMMAND, or an unknown one: the Node plugin answers', async () => {
    for (const env of [{}, { CNI_COMMAND: 'FROB' }]) {
      const [client, node] = await Promise.all([exec(plugin, env, '{"cniVersion":"1.0.0"}'), execNode(env, '{"cniVersion":"1.0.0"}')]);
      assert.deepEqual(client, { ...node, ms: client.ms }, JSON.stringify(env));
    }
  });

  await t.test('no agent: ADD, CHECK and DEL through the client work as through the Node plugin, without PATH', async (tt) => {
    const stateDir = ctnetStateDir(tt);
    const [viaClient, viaNode] = [await newNetns(tt), await newNetns(tt)];
    const conf = { cniVersion: '1.0.0', name: 'clientnet', type: 'ctnet', subnets: ['10.96.0.0/24'], bridge: 'ctclient0', stateDir };
    const env = (command: string, id: string, ns: string): Env => ({
      CNI_COMMAND: command,
      CNI_CONTAINERID: id,
      CNI_NETNS: `/run/netns/${ns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: pluginDir,
      CTNET_SOCKET: noAgent,
    });
    const add = await exec(plugin, env('ADD', 'client-1', viaClient), JSON.stringify(conf));
    assert.equal(add.code, 0, describeRun(add));
    const nodeAdd = await execNode(env('ADD', 'node-1', viaNode), JSON.stringify(conf));
    assert.equal(nodeAdd.code, 0, describeRun(nodeAdd));
    // The same result but for what differs between two containers.
    const anonymous = (stdout: string): string => stdout.replace(/10\.96\.0\.\d+/g, 'IP').replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC').replace(/\/run\/netns\/[^"]+/g, 'NS').replace(/"ct[0-9a-f]{12}"/g, 'HOST');
    assert.equal(anonymous(add.stdout), anonymous(nodeAdd.stdout));
    assert.equal(add.stderr, '');
    assert.equal(await ping(viaClient, '10.96.0.1'), true, 'the container reaches its gateway');

    const result = JSON.parse(add.stdout) as Record<string, unknown>;
    const check = await exec(plugin, env('CHECK', 'client-1', viaClient), JSON.stringify({ ...conf, prevResult: result }));
    assert.deepEqual([check.code, check.stdout, check.stderr], [0, '', ''], describeRun(check));
    // A refused request answers as the Node plugin's does, exit status and all.
    const bad = JSON.stringify({ ...conf, subnets: ['10.96.0.0/33'] });
    const [badClient, badNode] = await Promise.all([exec(plugin, env('ADD', 'client-2', viaClient), bad), execNode(env('ADD', 'client-2', viaClient), bad)]);
    assert.deepEqual(badClient, { ...badNode, ms: badClient.ms });
    assert.equal(cniError(badClient, 7).cniVersion, '1.0.0');

    const del = await exec(plugin, env('DEL', 'client-1', viaClient), JSON.stringify({ ...conf, prevResult: result }));
    assert.deepEqual([del.code, del.stdout, del.stderr], [0, '', ''], describeRun(del));
    const ls = JSON.parse((await cli(stateDir, ['--json', 'ls'])).stdout) as { container: string }[];
    assert.deepEqual(ls.map((e) => e.container), ['node-1'], 'only the Node plugin\'s attachment is left');
    const otherDel = await exec(plugin, env('DEL', 'node-1', viaNode), JSON.stringify(conf));
    assert.equal(otherDel.code, 0, describeRun(otherDel));
    assert.deepEqual(await ctnetVeths(), []);
  });

  await t.test('the request: POST /v1/cni, its headers, the CNI_* and CTNET_* variables only, stdin byte for byte', async (tt) => {
    const socket = join(tempDir(tt, 'agent-'), 'agent.sock');
    const answer = '{"cniVersion":"1.0.0","note":"the agent\'s \\"answer\\", é 😀"}\n';
    const received = await fakeAgent(tt, socket, (res) => {
      res.writeHead(200, { 'Ctnet-Cni-Exit': '7', 'Content-Type': 'application/json' });
      res.end(answer);
    });
    const cniVars = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'wire-1',
      CNI_NETNS: '/run/netns/nowhere',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME="a\\b"',
      CNI_PATH: '/usr/lib/cni',
      CTNET_SOCKET: socket,
      CTNET_STATE_DIR: '/var/lib/ctnet \t"odd"',
    };
    const stdin = '{"cniVersion": "1.0.0", "name": "say \\"hi\\"", "path": "C:\\\\dir"}\n\ttab, \u0001, é, 日本, 😀\n';
    const r = await exec(plugin, { PATH: '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8', NOT_CNI: 'x', CNI: 'no underscore', ...cniVars }, stdin);
    assert.deepEqual([r.code, r.stdout, r.stderr], [7, answer, ''], describeRun(r));
    assert.equal(received.length, 1);
    const [req] = received;
    assert.equal(req?.method, 'POST');
    assert.equal(req?.url, '/v1/cni');
    assert.equal(req?.headers.host, 'ctnet');
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.equal(req?.headers.connection, 'close');
    assert.equal(req?.headers['content-length'], String(req?.raw.length));
    const body = JSON.parse(req?.raw.toString('utf8') ?? '') as { env: Record<string, string>; stdin: string };
    assert.deepEqual(Object.keys(body).sort(), ['env', 'stdin']);
    assert.deepEqual(body.env, cniVars);
    assert.equal(body.stdin, stdin);
  });

  await t.test('a chunked answer and an empty one arrive whole', async (tt) => {
    const socket = join(tempDir(tt, 'agent-'), 'agent.sock');
    let n = 0;
    await fakeAgent(tt, socket, (res) => {
      res.setHeader('Ctnet-Cni-Exit', '0');
      if (n++ === 0) {
        res.write('{"first":"chunk",');
        res.end('"second":"chunk"}\n');
      } else {
        res.end();
      }
    });
    const env = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'wire-2', CNI_IFNAME: 'eth0', CTNET_SOCKET: socket };
    const chunked = await exec(plugin, env, '{}');
    assert.deepEqual([chunked.code, chunked.stdout], [0, '{"first":"chunk","second":"chunk"}\n'], describeRun(chunked));
    const empty = await exec(plugin, env, '{}');
    assert.deepEqual([empty.code, empty.stdout, empty.stderr], [0, '', ''], describeRun(empty));
  });

  // A request the Node plugin answers without touching anything: ADD without CNI_NETNS.
  const incomplete = (socket: string): Env => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'wire-3', CNI_IFNAME: 'eth0', CTNET_SOCKET: socket });
  const config = '{"cniVersion":"1.0.0","name":"wire","type":"ctnet"}';

  await t.test('421 (the agent serves another state dir): the Node plugin answers, with the same stdin', async (tt) => {
    const socket = join(tempDir(tt, 'agent-'), 'agent.sock');
    const received = await fakeAgent(tt, socket, (res) => {
      res.writeHead(421, { 'Content-Type': 'text/plain' });
      res.end('this agent serves /var/lib/other\n');
    });
    const [client, node] = await Promise.all([exec(plugin, incomplete(socket), config), execNode(incomplete(socket), config)]);
    assert.deepEqual(client, { ...node, ms: client.ms });
    assert.equal(cniError(client, 4).msg, 'missing environment variables');
    assert.equal(received.length, 1, 'the agent was asked first');
  });

  await t.test("a dead agent's socket (ECONNREFUSED): the Node plugin answers", async (tt) => {
    const socket = join(tempDir(tt, 'agent-'), 'agent.sock');
    // An agent killed with SIGKILL leaves its socket file behind, with nobody listening.
    const dead = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await once(dead, 'exit');
    assert.ok(existsSync(socket));
    const [client, node] = await Promise.all([exec(plugin, incomplete(socket), config), execNode(incomplete(socket), config)]);
    assert.deepEqual(client, { ...node, ms: client.ms });
  });

  await t.test('a refusal or a malformed answer: CNI error 11, exit 1, and no fallback', async (tt) => {
    const socket = join(tempDir(tt, 'agent-'), 'agent.sock');
    const answers: ((res: ServerResponse) => void)[] = [
      (res) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('the engine broke');
      },
      (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}\n');
      },
      (res) => {
        res.writeHead(200, { 'Ctnet-Cni-Exit': 'zero' });
        res.end('{}\n');
      },
    ];
    let n = 0;
    const received = await fakeAgent(tt, socket, (res) => { answers[n++]?.(res); });
    const refused = cniError(await exec(plugin, incomplete(socket), config), 11);
    assert.deepEqual(refused, {
      cniVersion: '1.0.0',
      code: 11,
      msg: 'the ctnet agent refused the request',
      details: 'HTTP/1.1 500 Internal Server Error: the engine broke',
    });
    assert.match(cniError(await exec(plugin, incomplete(socket), config), 11).details ?? '', /no Ctnet-Cni-Exit header/);
    assert.match(cniError(await exec(plugin, incomplete(socket), config), 11).details ?? '', /Ctnet-Cni-Exit is not an exit status/);
    assert.equal(received.length, 3);
  });

  await t.test('an agent that never answers: CNI error 11 once CTNET_AGENT_TIMEOUT_MS has passed', async (tt) => {
    const socket = join(tempDir(tt, 'agent-'), 'agent.sock');
    const received = await fakeAgent(tt, socket, () => undefined);
    const env = { ...incomplete(socket), CTNET_AGENT_TIMEOUT_MS: '500' };
    const giveUp = new AbortController();
    const r = await Promise.race([exec(plugin, env, '{"cniVersion":"0.4.0"}'), delay(10_000, undefined, { signal: giveUp.signal }).catch(() => undefined)]);
    giveUp.abort();
    assert.ok(r !== undefined, 'the client still waits 10 s after its 500 ms deadline');
    assert.deepEqual(cniError(r, 11), {
      cniVersion: '0.4.0',
      code: 11,
      msg: 'the ctnet agent did not answer in time',
      details: `no answer on ${socket} within 500 ms; the agent may still complete the request; try again later`,
    });
    assert.equal(received.length, 1, 'the request was sent: no fallback');
  });

  await t.test('an agent that closes the connection mid-answer: CNI error 11', async (tt) => {
    const socket = join(tempDir(tt, 'agent-'), 'agent.sock');
    await fakeAgent(tt, socket, (res) => {
      res.socket?.end('HTTP/1.1 200 OK\r\nCtnet-Cni-Exit: 0\r\nContent-Length: 100\r\n\r\n{"cniVersion":');
    });
    const e = cniError(await exec(plugin, incomplete(socket), config), 11);
    assert.equal(e.msg, 'the connection to the ctnet agent broke');
    assert.match(e.details ?? '', /closed after \d+ bytes of the answer/);
  });
});

test('podman with the native client as its ctnet plugin, no agent running', { skip: podmanSkip, timeout: 180_000 }, async (t) => {
  // conmon's cleanup runs DEL without CTNET_SOCKET: the client then tries the default socket.
  assert.equal(existsSync('/run/ctnet/ctnet.sock'), false, 'an agent socket exists at /run/ctnet/ctnet.sock; this test needs no agent');
  const lab = await PodmanLab.start({ installPlugin: async (dir) => { await installClient(dir); } });
  t.after(() => lab.close());
  assert.deepEqual(readFileSync(join(lab.dir, 'plugins/ctnet')), readFileSync(NATIVE_CNI_CLIENT), 'the lab runs the native client');

  await t.test('podman run -d gets an address that reaches the gateway; rm -f leaves nothing', async () => {
    const run = await lab.runDetached('native', CT_NET.name, ['sleep', '600'], ['-p', '18090:80']);
    assert.equal(run.code, 0, run.stderr);
    const ip = await lab.containerIp('native', CT_NET.name);
    assert.match(ip, /^10\.89\.0\.\d+$/);
    await lab.ok(['exec', 'native', 'ping', '-c1', '-W1', CT_NET.gateway]);
    assert.notDeepEqual(await ctnetPortElements(), []);
    await lab.ok(['rm', '-f', '-t', '0', 'native']);
    assert.deepEqual(await ctnetVeths(), []);
    assert.deepEqual(await ctnetPortElements(), []);
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 });
  });

  await t.test("a container that exits by itself is torn down by conmon's cleanup (reduced environment)", async () => {
    const run = await lab.runDetached('brief', CT_NET.name, ['sleep', '1']);
    assert.equal(run.code, 0, run.stderr);
    const deadline = Date.now() + 8000;
    while (ctnetContainerRows(lab.stateDir).endpoints > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 }, 'still attached 8 s after the container exited');
    assert.deepEqual(await ctnetVeths(), []);
    await lab.ok(['rm', 'brief']);
  });
});

test('podman with the native client as its ctnet plugin and the agent running', { skip: podmanSkip, timeout: 180_000 }, async (t) => {
  const lab = await PodmanLab.start({ installPlugin: async (dir) => { await installClient(dir); } });
  t.after(() => lab.close());
  const agent = await lab.startAgent();
  t.after(() => agent.stop());

  await t.test('podman run -d and rm -f are served by the agent; nothing is left', async () => {
    const run = await lab.runDetached('served', CT_NET.name, ['sleep', '600'], ['-p', '18091:80']);
    assert.equal(run.code, 0, run.stderr);
    await lab.ok(['exec', 'served', 'ping', '-c1', '-W1', CT_NET.gateway]);
    assert.match(agent.log(), /connected to network "ctpod": eth0, 10\.89\.0\.\d+\/\d+, host end ct[0-9a-f]{12}, 1 published port/);
    await lab.ok(['rm', '-f', '-t', '0', 'served']);
    assert.match(agent.log(), /disconnected from network "ctpod"/);
    assert.deepEqual(await ctnetVeths(), []);
    assert.deepEqual(await ctnetPortElements(), []);
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 });
  });

  await t.test("conmon's cleanup of a container that exits by itself reaches the agent on the default socket", async () => {
    const before = (agent.log().match(/disconnected from network/g) ?? []).length;
    const run = await lab.runDetached('brief-agent', CT_NET.name, ['sleep', '1']);
    assert.equal(run.code, 0, run.stderr);
    const deadline = Date.now() + 8000;
    while (ctnetContainerRows(lab.stateDir).endpoints > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 }, 'still attached 8 s after the container exited');
    assert.equal((agent.log().match(/disconnected from network/g) ?? []).length, before + 1, agent.log());
    await lab.ok(['rm', 'brief-agent']);
  });
});
