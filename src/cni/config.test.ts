/**
 * The CNI request parsers: network configuration (parseNetConf), spec version (checkVersion) and
 * CNI_ARGS (parseCniArgs). Every rejection must carry the spec's error code, because that is what a
 * runtime branches on.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { checkVersion, parseCniArgs, parseNetConf } from './config.js';
import { CNI_ERR, CniError } from './errors.js';
import { SUPPORTED_VERSIONS } from './version.js';

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
    await t.test(JSON.stringify(text), () => { assertCniError(() => parseNetConf(text), CNI_ERR.DECODING_FAILURE); });
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
    await t.test(what, () => { assertCniError(() => parseNetConf(text), CNI_ERR.INVALID_CONFIG, mention); });
  }
});

test('parseNetConf() refuses a relative stateDir with code 7: it would follow the runtime\'s working directory', async (t) => {
  for (const dir of ['x', './state', 'var/lib/ctnet', '']) {
    await t.test(JSON.stringify(dir), () => { assertCniError(() => parseNetConf(conf({ stateDir: dir })), CNI_ERR.INVALID_CONFIG, `"stateDir" must be an absolute path, not ${JSON.stringify(dir)}`); },
    );
  }
});

/** A prevResult as the reference bridge plugin writes it: host bridge, host veth, container eth0. */
const goodPrev = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'cni0', mac: '00:11:22:33:44:55' }, { name: 'veth3243' }, { name: 'eth0', mac: '99:88:77:66:55:44', mtu: 1500, sandbox: '/var/run/netns/blue' }],
  ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 2 }, { address: 'fd10:1::5/64', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '::/0' }],
  dns: { nameservers: ['10.1.0.1'], domain: 'example.test', search: ['example.test'], options: ['ndots:2'] },
};

function withPrev(prevResult: unknown): string {
  return conf({ prevResult });
}

test('parseNetConf() accepts a spec prevResult and keeps the keys it does not know, at every level', () => {
  assert.deepEqual(parseNetConf(withPrev(goodPrev)).prevResult, goodPrev);
  // Other plugins add their own keys (and 0.4.0 results had "version"): they must come back out.
  const extra = {
    ...goodPrev,
    'example.com/annotation': { any: ['thing'] },
    interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/blue', socketPath: '/run/vhost.sock', pciID: '0000:00:1f.6', vendorKey: 1 }],
    ips: [{ version: '4', address: '10.1.0.5/16', interface: 0, note: null }],
    routes: [{ dst: '10.2.0.0/16', gw: '10.1.0.254', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0, extra: true }],
    dns: { nameservers: ['10.1.0.1'], sortlist: ['10.1.0.0/16'] },
  };
  assert.deepEqual(parseNetConf(withPrev(extra)).prevResult, extra);
  // Every key is optional: an IPAM-style result without interfaces, and an empty one.
  assert.deepEqual(parseNetConf(withPrev({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16' }] })).prevResult, { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16' }] });
  assert.deepEqual(parseNetConf(withPrev({})).prevResult, {});
});

test('parseNetConf() refuses a prevResult of the wrong shape with code 7, naming the field and its value', async (t) => {
  const iface = { name: 'eth0', sandbox: '/var/run/netns/blue' };
  const cases: Array<[prevResult: unknown, details: string]> = [
    [[], '"prevResult" must be an object, not []'],
    ['{}', '"prevResult" must be an object, not "{}"'],
    [5, '"prevResult" must be an object, not 5'],
    [null, '"prevResult" must be an object, not null'],
  ];
  for (const key of ['interfaces', 'ips', 'routes']) {
    cases.push(
      [{ [key]: 5 }, `"prevResult.${key}" must be a list, not 5`],
      [{ [key]: true }, `"prevResult.${key}" must be a list, not true`],
      [{ [key]: { 0: {} } }, `"prevResult.${key}" must be a list, not {"0":{}}`],
      [{ [key]: 'eth0' }, `"prevResult.${key}" must be a list, not "eth0"`],
      [{ [key]: null }, `"prevResult.${key}" must be a list, not null`],
      [{ [key]: [5] }, `"prevResult.${key}[0]" must be an object, not 5`],
      [{ [key]: ['eth0'] }, `"prevResult.${key}[0]" must be an object, not "eth0"`],
      [{ [key]: [[]] }, `"prevResult.${key}[0]" must be an object, not []`],
    );
  }
  cases.push(
    [{ interfaces: [{}] }, '"prevResult.interfaces[0].name" is missing'],
    [{ interfaces: [iface, { name: 5 }] }, '"prevResult.interfaces[1].name" must be a string, not 5'],
    [{ interfaces: [{ ...iface, mac: 1 }] }, '"prevResult.interfaces[0].mac" must be a string, not 1'],
    [{ interfaces: [{ ...iface, mtu: '1500' }] }, '"prevResult.interfaces[0].mtu" must be a non-negative integer, not "1500"'],
    [{ interfaces: [{ ...iface, mtu: -1 }] }, '"prevResult.interfaces[0].mtu" must be a non-negative integer, not -1'],
    [{ interfaces: [{ ...iface, mtu: 1500.5 }] }, '"prevResult.interfaces[0].mtu" must be a non-negative integer, not 1500.5'],
    [{ interfaces: [{ ...iface, sandbox: {} }] }, '"prevResult.interfaces[0].sandbox" must be a string, not {}'],
    [{ ips: [{}] }, '"prevResult.ips[0].address" is missing'],
    [{ ips: [{ address: 5 }] }, '"prevResult.ips[0].address" must be a string, not 5'],
    [{ ips: [{ address: '10.1.0.5' }] }, '"prevResult.ips[0].address" must be an IP address with a prefix length (CIDR), not "10.1.0.5"'],
    [{ ips: [{ address: '10.1.0.5/33' }] }, '"prevResult.ips[0].address" must be an IP address with a prefix length (CIDR), not "10.1.0.5/33"'],
    [{ ips: [{ address: 'fd10::5/129' }] }, '"prevResult.ips[0].address" must be an IP address with a prefix length (CIDR), not "fd10::5/129"'],
    [{ ips: [{ address: 'eth0/24' }] }, '"prevResult.ips[0].address" must be an IP address with a prefix length (CIDR), not "eth0/24"'],
    [{ ips: [{ address: '10.1.0.5/24/1' }] }, '"prevResult.ips[0].address" must be an IP address with a prefix length (CIDR), not "10.1.0.5/24/1"'],
    [{ ips: [{ address: '10.1.0.5/16', gateway: 10 }] }, '"prevResult.ips[0].gateway" must be a string, not 10'],
    [{ ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1/16' }] }, '"prevResult.ips[0].gateway" must be an IP address, not "10.1.0.1/16"'],
    [{ interfaces: [iface], ips: [{ address: '10.1.0.5/16', interface: '0' }] }, '"prevResult.ips[0].interface" must be a non-negative integer, not "0"'],
    [{ interfaces: [iface], ips: [{ address: '10.1.0.5/16', interface: -1 }] }, '"prevResult.ips[0].interface" must be a non-negative integer, not -1'],
    [{ interfaces: [iface], ips: [{ address: '10.1.0.5/16', interface: 0.5 }] }, '"prevResult.ips[0].interface" must be a non-negative integer, not 0.5'],
    // The index must point at an interface of the same result.
    [{ interfaces: [iface], ips: [{ address: '10.1.0.5/16', interface: 0 }, { address: '10.1.0.6/16', interface: 1 }] }, '"prevResult.ips[1].interface" must be an index into "prevResult.interfaces" (1 interface), not 1'],
    [{ ips: [{ address: '10.1.0.5/16', interface: 0 }] }, '"prevResult.ips[0].interface" must be an index into "prevResult.interfaces" (0 interfaces), not 0'],
    [{ routes: [{}] }, '"prevResult.routes[0].dst" is missing'],
    [{ routes: [{ dst: 0 }] }, '"prevResult.routes[0].dst" must be a string, not 0'],
    [{ routes: [{ dst: 'default' }] }, '"prevResult.routes[0].dst" must be an IP address with a prefix length (CIDR), not "default"'],
    [{ routes: [{ dst: '0.0.0.0/0', gw: ['10.1.0.1'] }] }, '"prevResult.routes[0].gw" must be a string, not ["10.1.0.1"]'],
    [{ routes: [{ dst: '0.0.0.0/0', gw: 'gateway' }] }, '"prevResult.routes[0].gw" must be an IP address, not "gateway"'],
    [{ routes: [{ dst: '0.0.0.0/0', mtu: '1400' }] }, '"prevResult.routes[0].mtu" must be a non-negative integer, not "1400"'],
    [{ routes: [{ dst: '0.0.0.0/0', table: -5 }] }, '"prevResult.routes[0].table" must be a non-negative integer, not -5'],
    [{ dns: 5 }, '"prevResult.dns" must be an object, not 5'],
    [{ dns: ['10.1.0.1'] }, '"prevResult.dns" must be an object, not ["10.1.0.1"]'],
    [{ dns: { nameservers: '10.1.0.1' } }, '"prevResult.dns.nameservers" must be a list, not "10.1.0.1"'],
    [{ dns: { nameservers: ['10.1.0.1', 53] } }, '"prevResult.dns.nameservers[1]" must be a string, not 53'],
    [{ dns: { domain: ['example.test'] } }, '"prevResult.dns.domain" must be a string, not ["example.test"]'],
    [{ dns: { search: 'example.test' } }, '"prevResult.dns.search" must be a list, not "example.test"'],
    [{ dns: { options: [true] } }, '"prevResult.dns.options[0]" must be a string, not true'],
    [{ cniVersion: 1 }, '"prevResult.cniVersion" must be a string, not 1'],
    // A long value is cut short in the details.
    [{ ips: 'x'.repeat(100) }, `"prevResult.ips" must be a list, not "${'x'.repeat(58)}…`],
  );
  for (const [prevResult, details] of cases) {
    await t.test(details, () => { assertCniError(() => parseNetConf(withPrev(prevResult)), CNI_ERR.INVALID_CONFIG, details); });
  }
});

test('checkVersion() accepts 1.0.0 and 1.1.0', () => {
  assert.deepEqual([...SUPPORTED_VERSIONS], ['1.0.0', '1.1.0']);
  for (const v of SUPPORTED_VERSIONS) assert.doesNotThrow(() => { checkVersion(v); });
});

test('checkVersion() refuses other versions with code 1, naming the supported ones', async (t) => {
  for (const v of ['0.4.0', '0.3.1', '2.0.0', '1.2.0', '', '1.1', 'v1.1.0']) {
    await t.test(JSON.stringify(v), () => { assertCniError(() => { checkVersion(v); }, CNI_ERR.INCOMPATIBLE_VERSION, '1.0.0, 1.1.0'); });
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
    await t.test(args, () => { assert.deepEqual(parseCniArgs(args), { ip: ['10.88.0.7'], mac: undefined }); });
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
    await t.test(`${args} → code 4`, () => { assertCniError(() => parseCniArgs(args), CNI_ERR.INVALID_ENV, mention); });
  }
});
