/**
 * The CNI request parsers: network configuration (parseNetConf), spec version (checkVersion) and
 * CNI_ARGS (parseCniArgs). Every rejection must carry the spec's error code, because that is what a
 * runtime branches on.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { checkVersion, parseCniArgs, parseNetConf, SUPPORTED_VERSIONS } from './config.js';
import { CNI_ERR, CniError } from './errors.js';

/** Assert that `fn` throws a CniError with `code` whose message or details mention `mention`. */
function assertCniError(fn: () => unknown, code: number, mention?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CniError, `expected CniError, got ${String(err)}`);
    assert.equal(err.code, code, `code of ${err.message}: ${err.details ?? ''}`);
    if (mention !== undefined) assert.ok(`${err.message} ${err.details ?? ''}`.includes(mention), `"${err.message}: ${err.details ?? ''}" should mention ${mention}`);
    return true;
  });
}

const minimal = { cniVersion: '1.1.0', name: 'n1', type: 'ctnet', subnets: ['10.88.0.0/24'] };

function conf(extra: Record<string, unknown>): string {
  return JSON.stringify({ ...minimal, ...extra });
}

test('parseNetConf() reads the minimal config: name, type, subnets', () => {
  const c = parseNetConf(JSON.stringify(minimal));
  assert.equal(c.cniVersion, '1.1.0');
  assert.equal(c.name, 'n1');
  assert.deepEqual(c.spec, { name: 'n1', subnets: ['10.88.0.0/24'] });
  assert.deepEqual([...c.explicit], ['subnets']);
  assert.equal(c.stateDir, undefined);
  assert.equal(c.prevResult, undefined);
  assert.deepEqual(c.runtime, { ports: [], ips: [], mac: undefined });
  assert.equal(c.validAttachments, undefined);
});

test('parseNetConf() maps every network key onto the spec and records it as explicit', () => {
  const c = parseNetConf(
    conf({ driver: 'ptp', bridge: 'br9', gateway: '10.88.0.254', mtu: 1400, nat: false, internal: true, subnets: ['10.88.0.0/24', 'fd10:88::/64'], stateDir: '/tmp/x' }),
  );
  assert.deepEqual(c.spec, {
    name: 'n1',
    subnets: ['10.88.0.0/24', 'fd10:88::/64'],
    driver: 'ptp',
    bridge: 'br9',
    gateway: '10.88.0.254',
    mtu: 1400,
    nat: false,
    internal: true,
  });
  assert.deepEqual([...c.explicit].sort(), ['bridge', 'driver', 'gateway', 'internal', 'mtu', 'nat', 'subnets']);
  assert.equal(c.stateDir, '/tmp/x');
});

test('parseNetConf() ignores keys it does not know (the spec lets runtimes pass them through)', () => {
  const c = parseNetConf(conf({ capabilities: { portMappings: true }, ipMasq: true, args: { foo: 1 }, dns: { nameservers: ['10.88.0.1'] } }));
  assert.equal(c.name, 'n1');
});

test('parseNetConf() keeps prevResult, runtimeConfig and cni.dev/valid-attachments', () => {
  const prevResult = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }], ips: [{ address: '10.88.0.5/24', interface: 0 }] };
  const c = parseNetConf(
    conf({
      prevResult,
      runtimeConfig: {
        portMappings: [
          { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
          { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
          { hostPort: 9000, containerPort: 9000, hostIP: '' },
        ],
        ips: ['10.88.0.9/24'],
        mac: '02:00:00:00:00:09',
        aliases: { n1: ['web'] },
      },
      'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }],
    }),
  );
  assert.deepEqual(c.prevResult, prevResult);
  assert.deepEqual(c.runtime, {
    ports: [
      { protocol: 'tcp', hostPort: 8080, containerPort: 80 },
      { protocol: 'udp', hostPort: 5353, containerPort: 53, hostIp: '127.0.0.1' },
      { protocol: 'tcp', hostPort: 9000, containerPort: 9000 },
    ],
    ips: ['10.88.0.9/24'],
    mac: '02:00:00:00:00:09',
  });
  assert.deepEqual(c.validAttachments, [{ containerID: 'c1', ifname: 'eth0' }]);
  // An empty list is a list: GC then removes every attachment.
  assert.deepEqual(parseNetConf(conf({ 'cni.dev/valid-attachments': [] })).validAttachments, []);
});

test('parseNetConf() rejects malformed JSON with code 6', async (t) => {
  for (const text of ['', '{', '{"name": "n1",}', 'not json', '[1, 2]', 'null', '"string"', '42']) {
    await t.test(JSON.stringify(text), () => assertCniError(() => parseNetConf(text), CNI_ERR.DECODING_FAILURE));
  }
});

test('parseNetConf() rejects missing or ill-typed fields with code 7, naming the field', async (t) => {
  const cases: Array<[what: string, text: string, mention: string]> = [
    ['no name', JSON.stringify({ cniVersion: '1.1.0', type: 'ctnet', subnets: ['10.88.0.0/24'] }), '"name"'],
    ['empty name', conf({ name: '' }), '"name"'],
    ['numeric name', conf({ name: 5 }), '"name"'],
    ['no subnets', JSON.stringify({ cniVersion: '1.1.0', name: 'n1', type: 'ctnet' }), '"subnets"'],
    ['empty subnets', conf({ subnets: [] }), '"subnets"'],
    ['subnets a string', conf({ subnets: '10.88.0.0/24' }), '"subnets"'],
    ['subnets with a number', conf({ subnets: ['10.88.0.0/24', 4] }), '"subnets"'],
    ['cniVersion a number', conf({ cniVersion: 1 }), '"cniVersion"'],
    ['unknown driver', conf({ driver: 'macvlan' }), '"driver"'],
    ['bridge a number', conf({ bridge: 0 }), '"bridge"'],
    ['gateway a list', conf({ gateway: ['10.88.0.1'] }), '"gateway"'],
    ['mtu a string', conf({ mtu: '1500' }), '"mtu"'],
    ['nat a string', conf({ nat: 'yes' }), '"nat"'],
    ['internal a number', conf({ internal: 1 }), '"internal"'],
    ['stateDir a number', conf({ stateDir: 1 }), '"stateDir"'],
    ['prevResult a list', conf({ prevResult: [] }), '"prevResult"'],
    ['runtimeConfig a list', conf({ runtimeConfig: [] }), '"runtimeConfig"'],
    ['portMappings an object', conf({ runtimeConfig: { portMappings: {} } }), 'portMappings'],
    ['portMapping without containerPort', conf({ runtimeConfig: { portMappings: [{ hostPort: 80 }] } }), 'portMappings[0]'],
    ['portMapping with string ports', conf({ runtimeConfig: { portMappings: [{ hostPort: '80', containerPort: '80' }] } }), 'portMappings[0]'],
    ['portMapping with sctp', conf({ runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'sctp' }] } }), 'protocol'],
    ['portMapping with numeric hostIP', conf({ runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, hostIP: 1 }] } }), 'hostIP'],
    ['ips a string', conf({ runtimeConfig: { ips: '10.88.0.9' } }), 'ips'],
    ['mac a number', conf({ runtimeConfig: { mac: 1 } }), 'mac'],
    ['valid-attachments an object', conf({ 'cni.dev/valid-attachments': {} }), 'valid-attachments'],
    ['valid-attachment without ifname', conf({ 'cni.dev/valid-attachments': [{ containerID: 'c1' }] }), 'valid-attachments[0]'],
  ];
  for (const [what, text, mention] of cases) {
    await t.test(what, () => assertCniError(() => parseNetConf(text), CNI_ERR.INVALID_CONFIG, mention));
  }
});

test('checkVersion() accepts 1.0.0 and 1.1.0', () => {
  assert.deepEqual([...SUPPORTED_VERSIONS], ['1.0.0', '1.1.0']);
  for (const v of SUPPORTED_VERSIONS) assert.doesNotThrow(() => checkVersion(v));
});

test('checkVersion() refuses other versions with code 1, naming the supported ones', async (t) => {
  for (const v of ['0.4.0', '0.3.1', '2.0.0', '1.2.0', '', '1.1', 'v1.1.0']) {
    await t.test(JSON.stringify(v), () => assertCniError(() => checkVersion(v), CNI_ERR.INCOMPATIBLE_VERSION, '1.0.0, 1.1.0'));
  }
});

test('parseCniArgs() reads IP and MAC', () => {
  assert.deepEqual(parseCniArgs(undefined), { ip: [], mac: undefined });
  assert.deepEqual(parseCniArgs(''), { ip: [], mac: undefined });
  assert.deepEqual(parseCniArgs('IP=10.88.0.50'), { ip: ['10.88.0.50'], mac: undefined });
  assert.deepEqual(parseCniArgs('IP=10.88.0.50,fd10:88::50'), { ip: ['10.88.0.50', 'fd10:88::50'], mac: undefined });
  assert.deepEqual(parseCniArgs('MAC=02:00:00:00:00:01'), { ip: [], mac: '02:00:00:00:00:01' });
  assert.deepEqual(parseCniArgs('IP=10.88.0.50;MAC=02:00:00:00:00:01;'), { ip: ['10.88.0.50'], mac: '02:00:00:00:00:01' });
  // A value may itself hold "=": only the first one splits.
  assert.deepEqual(parseCniArgs('IgnoreUnknown=1;LABEL=a=b'), { ip: [], mac: undefined });
});

test('parseCniArgs() ignores unknown keys only with IgnoreUnknown, wherever it stands', async (t) => {
  const ok = [
    'IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=default;IP=10.88.0.7',
    'K8S_POD_NAME=web;IgnoreUnknown=true;IP=10.88.0.7',
    'IP=10.88.0.7;FOO=bar;IgnoreUnknown=True',
  ];
  for (const args of ok) {
    await t.test(args, () => assert.deepEqual(parseCniArgs(args), { ip: ['10.88.0.7'], mac: undefined }));
  }
  const bad: Array<[args: string, mention: string]> = [
    ['FOO=bar', 'FOO'],
    ['IP=10.88.0.7;K8S_POD_NAME=web', 'K8S_POD_NAME'],
    ['IgnoreUnknown=0;FOO=bar', 'FOO'],
    ['IgnoreUnknown=false;FOO=bar', 'FOO'],
    ['FOO', '"FOO" is not KEY=VALUE'],
    ['=bar', '"=bar" is not KEY=VALUE'],
  ];
  for (const [args, mention] of bad) {
    await t.test(`${args} → code 4`, () => assertCniError(() => parseCniArgs(args), CNI_ERR.INVALID_ENV, mention));
  }
});
