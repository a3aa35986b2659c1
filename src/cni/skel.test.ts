/**
 * The CNI execution protocol (runCni) with a fake CniIo and fake handlers: which environment each
 * command needs, the error result's shape and exit code, and the ADD result (buildResult) with
 * and without a prevResult. No root, no kernel.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { InvalidConfigError, NotFoundError } from '../errors.js';
import type { AttachedEndpoint, Network } from '../network/types.js';
import { type CniResult, parseNetConf } from './config.js';
import { CNI_ERR, CniError } from './errors.js';
import { buildResult, cniHandlers } from './plugin.js';
import { type CniCommand, type CniEnv, type CniHandler, type CniIo, runCni } from './skel.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from './version.js';

interface FakeRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The handler calls, in order. */
  calls: Array<{ command: CniCommand; env: CniEnv; stdin: string }>;
  stdinReads: number;
  /** What the handler's reply rejected with, if it did. */
  replyError?: unknown;
}

const TEST_PLUGIN = { supportedVersions: ['1.0.0', '1.1.0'], about: 'CNI test plugin v9.9.9' } as const;

/**
 * Run runCni as root with this environment and stdin; every handler records its call and replies
 * with what `answer` returns (nothing when undefined). `io` replaces parts of the fake process.
 */
async function runFake(
  env: Record<string, string | undefined>,
  stdin: string,
  answer: (command: CniCommand) => Promise<unknown> = async () => undefined,
  io: Partial<Pick<CniIo, 'euid' | 'readStdin' | 'writeStdout'>> = {},
): Promise<FakeRun> {
  const run: FakeRun = { code: -1, stdout: '', stderr: '', calls: [], stdinReads: 0 };
  const readStdin = io.readStdin ?? (async () => stdin);
  const fake: CniIo = {
    env,
    euid: io.euid ?? 0,
    readStdin: async () => {
      run.stdinReads++;
      return readStdin();
    },
    writeStdout: io.writeStdout ?? (async (s) => void (run.stdout += s)),
    writeStderr: (s) => (run.stderr += s),
  };
  const handler = (command: CniCommand): CniHandler => async (e, s, reply) => {
    run.calls.push({ command, env: e, stdin: s });
    const out = await answer(command);
    if (out === undefined) return;
    try {
      await reply(out);
    } catch (err) {
      run.replyError = err;
      throw err;
    }
  };
  const handlers: Record<CniCommand, CniHandler> = {
    ADD: handler('ADD'),
    DEL: handler('DEL'),
    CHECK: handler('CHECK'),
    VERSION: handler('VERSION'),
    STATUS: handler('STATUS'),
    GC: handler('GC'),
  };
  run.code = await runCni(fake, { ...TEST_PLUGIN, handlers });
  return run;
}

interface ErrorBody {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** The error result on stdout: exactly one JSON line with the spec's keys and nothing else. */
function errorBody(run: FakeRun): ErrorBody {
  assert.equal(run.code, 1, 'an error exits with 1');
  assert.ok(run.stdout.endsWith('\n') && run.stdout.indexOf('\n') === run.stdout.length - 1, `one line on stdout: ${JSON.stringify(run.stdout)}`);
  const body = JSON.parse(run.stdout) as ErrorBody;
  const keys = Object.keys(body).sort();
  assert.ok(
    JSON.stringify(keys) === JSON.stringify(['cniVersion', 'code', 'details', 'msg']) || JSON.stringify(keys) === JSON.stringify(['cniVersion', 'code', 'msg']),
    `error keys: ${keys.join(', ')}`,
  );
  assert.equal(typeof body.cniVersion, 'string');
  assert.equal(typeof body.code, 'number');
  assert.equal(typeof body.msg, 'string');
  assert.ok(body.msg !== '');
  // The same error, as one line, on stderr for the runtime's log.
  assert.ok(run.stderr.startsWith('ctnet-cni: ') && run.stderr.trimEnd().split('\n').length === 1, `stderr: ${JSON.stringify(run.stderr)}`);
  return body;
}

const ADD_ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0' };
const CONF_1_0 = JSON.stringify({ cniVersion: '1.0.0', name: 'n1', type: 'ctnet', subnets: ['10.88.0.0/24'] });

test('runCni(): without CNI_COMMAND it prints who it is and its versions to stderr, exits 0 and reads nothing', async (t) => {
  // As the reference plugins' skel does; arguments such as --help play no part, as there.
  for (const [what, env] of [['unset', {}], ['empty', { CNI_COMMAND: '' }]] as const) {
    await t.test(what, async () => {
      const run = await runFake(env, CONF_1_0);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr, 'CNI test plugin v9.9.9\nCNI protocol versions supported: 1.0.0, 1.1.0\n');
      assert.equal(run.calls.length, 0, 'no handler runs, so the engine is never loaded');
      // stdin may be a terminal: reading it would wait for the person who ran it.
      assert.equal(run.stdinReads, 0);
    });
  }
});

test('runCni(): an unknown CNI_COMMAND is code 4 naming CNI_COMMAND', async (t) => {
  // `toString` and `constructor` are properties of every object: they must not pass as commands.
  for (const command of ['FOO', 'add', 'toString', 'constructor', '__proto__']) {
    await t.test(JSON.stringify(command), async () => {
      const run = await runFake({ ...ADD_ENV, CNI_COMMAND: command }, CONF_1_0);
      const body = errorBody(run);
      assert.equal(body.code, CNI_ERR.INVALID_ENV);
      assert.match(`${body.msg} ${body.details ?? ''}`, /CNI_COMMAND/);
      assert.equal(run.calls.length, 0);
    });
  }
});

test('runCni(): each command requires its variables (code 4 naming each missing one)', async (t) => {
  const cases: Array<[command: CniCommand, missing: string[]]> = [
    ['ADD', ['CNI_NETNS']],
    ['ADD', ['CNI_CONTAINERID', 'CNI_IFNAME']],
    ['CHECK', ['CNI_NETNS']],
    ['DEL', ['CNI_CONTAINERID']],
    ['DEL', ['CNI_IFNAME']],
  ];
  for (const [command, missing] of cases) {
    await t.test(`${command} without ${missing.join(', ')}`, async () => {
      const env: Record<string, string | undefined> = { ...ADD_ENV, CNI_COMMAND: command };
      for (const k of missing) delete env[k];
      const run = await runFake(env, CONF_1_0);
      const body = errorBody(run);
      assert.equal(body.code, CNI_ERR.INVALID_ENV);
      for (const k of missing) assert.match(`${body.msg} ${body.details ?? ''}`, new RegExp(k));
      assert.equal(run.calls.length, 0);
      // The error answers in the request's version, although the environment was the problem.
      assert.equal(body.cniVersion, '1.0.0');
    });
  }
  await t.test('an empty value counts as missing', async () => {
    const body = errorBody(await runFake({ ...ADD_ENV, CNI_NETNS: '' }, CONF_1_0));
    assert.equal(body.code, CNI_ERR.INVALID_ENV);
    assert.match(body.details ?? '', /CNI_NETNS/);
  });
});

test('runCni(): DEL needs no CNI_NETNS; VERSION, STATUS and GC need only CNI_COMMAND', async (t) => {
  const cases: Array<[command: CniCommand, env: Record<string, string>]> = [
    ['DEL', { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }],
    ['VERSION', { CNI_COMMAND: 'VERSION' }],
    ['STATUS', { CNI_COMMAND: 'STATUS' }],
    ['GC', { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }],
  ];
  for (const [command, env] of cases) {
    await t.test(command, async () => {
      const run = await runFake(env, CONF_1_0);
      assert.equal(run.code, 0, run.stdout);
      assert.equal(run.stdout, '', 'a handler returning nothing prints nothing');
      assert.equal(run.stderr, '');
      assert.equal(run.calls.length, 1);
      assert.equal(run.calls[0]?.command, command);
      assert.equal(run.calls[0]?.env.netns, '');
    });
  }
});

test('runCni(): the handler gets the environment and stdin, and its result goes to stdout as one JSON line', async () => {
  const result = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }] };
  const env = { ...ADD_ENV, CNI_ARGS: 'IgnoreUnknown=1', CTNET_STATE_DIR: '/tmp/s', CNI_PATH: '/opt/cni/bin' };
  const run = await runFake(env, CONF_1_0, async () => result);
  assert.equal(run.code, 0);
  assert.equal(run.stdout, `${JSON.stringify(result)}\n`);
  assert.equal(run.stderr, '');
  const call = run.calls[0];
  assert.ok(call !== undefined);
  assert.equal(call.stdin, CONF_1_0);
  assert.equal(call.env.command, 'ADD');
  assert.equal(call.env.containerId, 'c1');
  assert.equal(call.env.netns, '/run/netns/c1');
  assert.equal(call.env.ifname, 'eth0');
  assert.equal(call.env.args, 'IgnoreUnknown=1');
  assert.equal(call.env.vars['CTNET_STATE_DIR'], '/tmp/s');
});

test('runCni(): a CNI_CONTAINERID the spec forbids is code 4 naming it', async (t) => {
  for (const id of ['-lead', '.dot', 'has space', 'slash/x', 'ü']) {
    await t.test(JSON.stringify(id), async () => {
      const body = errorBody(await runFake({ ...ADD_ENV, CNI_CONTAINERID: id }, CONF_1_0));
      assert.equal(body.code, CNI_ERR.INVALID_ENV);
      assert.match(`${body.msg} ${body.details ?? ''}`, /CNI_CONTAINERID/);
    });
  }
  await t.test('alphanumerics, "_", "." and "-" pass', async () => {
    const run = await runFake({ ...ADD_ENV, CNI_CONTAINERID: 'a0_b.c-D' }, CONF_1_0);
    assert.equal(run.code, 0);
  });
});

test('runCni(): a handler error becomes {cniVersion, code, msg, details} in the request\'s version, exit 1', async (t) => {
  const cases: Array<[what: string, err: unknown, code: number]> = [
    ['CniError keeps its code', new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', 'subnet overlaps'), CNI_ERR.INVALID_CONFIG],
    ['CniError without details', new CniError(CNI_ERR.TRY_AGAIN_LATER, 'try again later'), CNI_ERR.TRY_AGAIN_LATER],
    ['InvalidConfigError is 7', new InvalidConfigError('address "10.1.1.1" is not in any subnet'), CNI_ERR.INVALID_CONFIG],
    ['NotFoundError is 999', new NotFoundError('network "x" not found'), CNI_ERR.INTERNAL],
    ['a plain Error is 999', new Error('boom'), CNI_ERR.INTERNAL],
    ['a thrown string is 999', 'boom', CNI_ERR.INTERNAL],
  ];
  for (const [what, err, code] of cases) {
    await t.test(what, async () => {
      const run = await runFake(ADD_ENV, CONF_1_0, async () => {
        throw err;
      });
      const body = errorBody(run);
      assert.equal(body.code, code);
      assert.equal(body.cniVersion, '1.0.0');
      if (err instanceof CniError) {
        assert.equal(body.msg, err.message);
        assert.equal(body.details, err.details);
        if (err.details === undefined) assert.ok(!('details' in body));
      } else {
        assert.match(body.details ?? '', /boom|not found|not in any subnet/);
      }
    });
  }
});

test('runCni(): an error answers in the latest version when stdin has none', async (t) => {
  const fail = async (): Promise<never> => {
    throw new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', 'x');
  };
  for (const stdin of ['', '{', '{"name":"n1"}', '{"cniVersion":""}', '{"cniVersion":7}', '[]']) {
    await t.test(JSON.stringify(stdin), async () => {
      const body = errorBody(await runFake(ADD_ENV, stdin, fail));
      assert.equal(body.cniVersion, '1.1.0');
    });
  }
});

test('runCni(): ADD, DEL, CHECK, STATUS and GC as a user other than root are code 50 and run no handler', async (t) => {
  const envs: Record<Exclude<CniCommand, 'VERSION'>, Record<string, string>> = {
    ADD: ADD_ENV,
    DEL: { ...ADD_ENV, CNI_COMMAND: 'DEL' },
    CHECK: { ...ADD_ENV, CNI_COMMAND: 'CHECK' },
    STATUS: { CNI_COMMAND: 'STATUS' },
    GC: { CNI_COMMAND: 'GC' },
  };
  for (const [command, env] of Object.entries(envs)) {
    await t.test(command, async () => {
      const run = await runFake(env, CONF_1_0, undefined, { euid: 65534 });
      const body = errorBody(run);
      assert.equal(body.code, CNI_ERR.NOT_AVAILABLE);
      assert.equal(body.msg, 'ctnet-cni must run as root');
      assert.match(body.details ?? '', new RegExp(`^${command} runs as uid 65534`));
      assert.equal(body.cniVersion, '1.0.0', 'in the request\'s version');
      assert.equal(run.calls.length, 0);
    });
  }
  await t.test('VERSION needs no root', async () => {
    const run = await runFake({ CNI_COMMAND: 'VERSION' }, CONF_1_0, async () => ({ cniVersion: '1.0.0' }), { euid: 65534 });
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.calls.length, 1);
  });
});

test('runCni(): a result that cannot be written rejects the handler\'s reply with code 5, exit 1', async () => {
  const run = await runFake(ADD_ENV, CONF_1_0, async () => ({ cniVersion: '1.0.0' }), {
    writeStdout: async () => {
      throw new Error('write EPIPE');
    },
  });
  // The rejection reaches the handler, which is what lets ADD undo its work.
  assert.ok(run.replyError instanceof CniError && run.replyError.code === CNI_ERR.IO_FAILURE, String(run.replyError));
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, 'ctnet-cni: failed to write the ADD result: write EPIPE\n');
});

test('runCni(): failing to read stdin is code 5', async () => {
  const run = await runFake(ADD_ENV, '', undefined, {
    readStdin: async () => {
      throw new Error('EIO: read failed');
    },
  });
  const body = errorBody(run);
  assert.equal(body.code, CNI_ERR.IO_FAILURE);
  assert.match(body.details ?? '', /EIO/);
  assert.equal(run.calls.length, 0);
});

/** runCni with ctnet's real handlers, for the paths that fail before any state or kernel is touched. */
async function runReal(env: Record<string, string>, stdin: string, euid = 0): Promise<FakeRun> {
  const run: FakeRun = { code: -1, stdout: '', stderr: '', calls: [], stdinReads: 0 };
  // CTNET_STATE_DIR points nowhere usable: a handler that opened the state would fail with 999.
  const io: CniIo = {
    env: { ...env, CTNET_STATE_DIR: '/nonexistent/ctnet-unit-test' },
    euid,
    readStdin: async () => stdin,
    writeStdout: async (s) => void (run.stdout += s),
    writeStderr: (s) => (run.stderr += s),
  };
  run.code = await runCni(io, { handlers: cniHandlers, supportedVersions: SUPPORTED_VERSIONS, about: 'CNI ctnet plugin' });
  return run;
}

test('ctnet handlers: VERSION lists 1.0.0 and 1.1.0 and echoes the requested version', async (t) => {
  assert.equal(LATEST_VERSION, '1.1.0');
  for (const [stdin, echoed] of [['{"cniVersion":"1.0.0"}', '1.0.0'], ['{"cniVersion":"0.4.0"}', '0.4.0'], ['', '1.1.0'], ['{}', '1.1.0']] as const) {
    await t.test(JSON.stringify(stdin), async () => {
      const run = await runReal({ CNI_COMMAND: 'VERSION' }, stdin);
      assert.equal(run.code, 0, run.stdout);
      assert.deepEqual(JSON.parse(run.stdout), { cniVersion: echoed, supportedVersions: ['1.0.0', '1.1.0'] });
    });
  }
  await t.test('malformed JSON is code 6', async () => {
    assert.equal(errorBody(await runReal({ CNI_COMMAND: 'VERSION' }, '{')).code, CNI_ERR.DECODING_FAILURE);
  });
});

test('ctnet handlers: bad requests fail with their code before the state is opened', async (t) => {
  const good = { cniVersion: '1.1.0', name: 'n1', type: 'ctnet', subnets: ['10.88.0.0/24'] };
  const cases: Array<[what: string, env: Record<string, string>, stdin: string, code: number, version: string]> = [
    ['ADD, malformed JSON', ADD_ENV, '{"cniVersion": "1.0.0",', CNI_ERR.DECODING_FAILURE, '1.1.0'],
    ['ADD, cniVersion 0.4.0', ADD_ENV, JSON.stringify({ ...good, cniVersion: '0.4.0' }), CNI_ERR.INCOMPATIBLE_VERSION, '0.4.0'],
    ['ADD, cniVersion 2.0.0', ADD_ENV, JSON.stringify({ ...good, cniVersion: '2.0.0' }), CNI_ERR.INCOMPATIBLE_VERSION, '2.0.0'],
    ['ADD, no cniVersion', ADD_ENV, JSON.stringify({ ...good, cniVersion: undefined }), CNI_ERR.INCOMPATIBLE_VERSION, '1.1.0'],
    ['ADD, no subnets', ADD_ENV, JSON.stringify({ ...good, subnets: undefined }), CNI_ERR.INVALID_CONFIG, '1.1.0'],
    ['ADD, unknown CNI_ARGS key', { ...ADD_ENV, CNI_ARGS: 'FOO=1' }, JSON.stringify(good), CNI_ERR.INVALID_ENV, '1.1.0'],
    ['GC without cni.dev/valid-attachments', { CNI_COMMAND: 'GC' }, JSON.stringify(good), CNI_ERR.INVALID_CONFIG, '1.1.0'],
    ['CHECK without prevResult', { ...ADD_ENV, CNI_COMMAND: 'CHECK' }, JSON.stringify({ ...good, cniVersion: '1.0.0' }), CNI_ERR.INVALID_CONFIG, '1.0.0'],
  ];
  for (const [what, env, stdin, code, version] of cases) {
    await t.test(what, async () => {
      const body = errorBody(await runReal(env, stdin));
      assert.equal(body.code, code, `${body.msg}: ${body.details ?? ''}`);
      assert.equal(body.cniVersion, version);
    });
  }
});

test('ctnet handlers: as a user other than root, every command that needs root is code 50 before the state is opened', async (t) => {
  const good = JSON.stringify({ cniVersion: '1.0.0', name: 'n1', type: 'ctnet', subnets: ['10.88.0.0/24'] });
  for (const command of ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC'] as const) {
    await t.test(command, async () => {
      // Opening the (unusable) state directory would have been code 999 instead.
      const body = errorBody(await runReal({ ...ADD_ENV, CNI_COMMAND: command }, good, 65534));
      assert.equal(body.code, CNI_ERR.NOT_AVAILABLE, `${body.msg}: ${body.details ?? ''}`);
      assert.equal(body.msg, 'ctnet-cni must run as root');
    });
  }
});

const NET: Network = {
  id: 'net1',
  name: 'n1',
  driver: 'bridge',
  bridge: 'ct-n1',
  mtu: 1500,
  nat: true,
  internal: false,
  subnets: [
    { subnet: '10.88.0.0/24', gateway: '10.88.0.1' },
    { subnet: 'fd10:88::/64', gateway: 'fd10:88::1' },
  ],
  status: 'ready',
  created: '2025-01-01T00:00:00.000Z',
};

const EP: AttachedEndpoint = {
  id: 'ep1',
  network: 'n1',
  container: 'c1',
  netns: '/run/netns/c1',
  netnsId: '4:4026532001',
  ifname: 'eth0',
  hostIfname: 'ct0123456789ab',
  mac: '02:00:00:00:00:05',
  addresses: ['10.88.0.5/24', 'fd10:88::5/64'],
  gateways: ['10.88.0.1', 'fd10:88::1'],
  ports: [],
  owner: 'cni',
  status: 'ready',
  created: '2025-01-01T00:00:00.000Z',
  routes: [
    { dst: '0.0.0.0/0', gateway: '10.88.0.1' },
    { dst: '::/0', gateway: 'fd10:88::1' },
  ],
};

function confWith(extra: Record<string, unknown>): ReturnType<typeof parseNetConf> {
  return parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n1', type: 'ctnet', subnets: ['10.88.0.0/24', 'fd10:88::/64'], ...extra }));
}

test('buildResult() without prevResult: bridge, host veth, then the container interface the ips point at', () => {
  const r = buildResult(confWith({}), NET, EP, '/run/netns/c1');
  assert.deepEqual(r, {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'ct-n1' }, { name: 'ct0123456789ab' }, { name: 'eth0', mac: '02:00:00:00:00:05', mtu: 1500, sandbox: '/run/netns/c1' }],
    ips: [
      { address: '10.88.0.5/24', gateway: '10.88.0.1', interface: 2 },
      { address: 'fd10:88::5/64', gateway: 'fd10:88::1', interface: 2 },
    ],
    routes: [
      { dst: '0.0.0.0/0', gw: '10.88.0.1' },
      { dst: '::/0', gw: 'fd10:88::1' },
    ],
  });
});

test('buildResult() for a ptp network (no bridge) and a second interface without default routes', () => {
  const ptp: Network = { ...NET, driver: 'ptp', bridge: null, subnets: [{ subnet: '10.88.0.0/24', gateway: '10.88.0.1' }] };
  const ep: AttachedEndpoint = { ...EP, ifname: 'eth1', addresses: ['10.88.0.5/24'], gateways: ['10.88.0.1'], routes: [] };
  const r = buildResult(confWith({}), ptp, ep, '/run/netns/c1');
  assert.deepEqual(r.interfaces, [{ name: 'ct0123456789ab' }, { name: 'eth1', mac: '02:00:00:00:00:05', mtu: 1500, sandbox: '/run/netns/c1' }]);
  assert.deepEqual(r.ips, [{ address: '10.88.0.5/24', gateway: '10.88.0.1', interface: 1 }]);
  assert.deepEqual(r.routes, []);
  assert.ok(!('dns' in r));
});

test('buildResult() with prevResult keeps its interfaces, ips, routes and dns, and shifts our indices', () => {
  const prevResult: CniResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'lo', sandbox: '/run/netns/c1' }, { name: 'dummy0' }],
    ips: [{ address: '192.168.77.2/24', interface: 0 }],
    routes: [{ dst: '192.168.0.0/16' }],
    dns: { nameservers: ['192.168.77.1'], search: ['example.test'] },
  };
  const r = buildResult(confWith({ prevResult }), NET, EP, '/run/netns/c1');
  assert.deepEqual(r.interfaces, [
    { name: 'lo', sandbox: '/run/netns/c1' },
    { name: 'dummy0' },
    { name: 'ct-n1' },
    { name: 'ct0123456789ab' },
    { name: 'eth0', mac: '02:00:00:00:00:05', mtu: 1500, sandbox: '/run/netns/c1' },
  ]);
  assert.deepEqual(r.ips, [
    { address: '192.168.77.2/24', interface: 0 },
    { address: '10.88.0.5/24', gateway: '10.88.0.1', interface: 4 },
    { address: 'fd10:88::5/64', gateway: 'fd10:88::1', interface: 4 },
  ]);
  assert.deepEqual(r.routes, [{ dst: '192.168.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '::/0', gw: 'fd10:88::1' }]);
  assert.deepEqual(r.dns, prevResult.dns);
  // The input is not modified: the runtime may hold on to it.
  assert.equal(prevResult.interfaces?.length, 2);
  assert.equal(prevResult.ips?.length, 1);
});

test('buildResult() passes on the keys of prevResult it does not know, at the top and in entries', () => {
  const prevResult: CniResult = {
    cniVersion: '1.0.0',
    'example.com/owner': { plugin: 'other' },
    interfaces: [{ name: 'dummy0', vendorKey: 1 }],
    ips: [{ version: '4', address: '192.168.77.2/24' }],
    routes: [{ dst: '192.168.0.0/16', table: 100 }],
  };
  const r = buildResult(confWith({ prevResult }), NET, EP, '/run/netns/c1');
  assert.deepEqual(r['example.com/owner'], { plugin: 'other' });
  assert.deepEqual(r.interfaces?.[0], { name: 'dummy0', vendorKey: 1 });
  assert.deepEqual(r.ips?.[0], { version: '4', address: '192.168.77.2/24' });
  assert.deepEqual(r.routes?.[0], { dst: '192.168.0.0/16', table: 100 });
});

test('buildResult() answers in the request\'s cniVersion, not the prevResult\'s', () => {
  const r = buildResult(parseNetConf(JSON.stringify({ cniVersion: '1.1.0', name: 'n1', type: 'ctnet', subnets: ['10.88.0.0/24'], prevResult: { cniVersion: '1.0.0' } })), NET, EP, '/run/netns/c1');
  assert.equal(r.cniVersion, '1.1.0');
});
