import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { InvalidConfigError } from '../errors.js';
import { parseIp } from '../inet/ip.js';
import type { PortRecord } from '../state/records.js';
import { expandPorts, MAX_PORTS_PER_PROTOCOL, parsePortSpec, type PortSpec } from './ports.js';

/** Asserts that `fn` throws an InvalidConfigError whose message contains every one of `parts`. */
function assertInvalid(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidConfigError, `expected InvalidConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CTNET_INVALID_CONFIG');
    for (const part of parts) assert.ok(err.message.includes(part), `message ${JSON.stringify(err.message)} names ${JSON.stringify(part)}`);
    return true;
  });
}

const V4 = new Set<4 | 6>([4]);
const V6 = new Set<4 | 6>([6]);
const DUAL = new Set<4 | 6>([4, 6]);

test('parsePortSpec() reads the mappings people write', async (t) => {
  const cases: Array<[text: string, spec: PortSpec]> = [
    ['8080:80', { protocol: 'tcp', hostPort: 8080, containerPort: 80 }],
    ['8080:80/tcp', { protocol: 'tcp', hostPort: 8080, containerPort: 80 }],
    ['127.0.0.1:8080:80/udp', { protocol: 'udp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }],
    ['[fd00::1]:8080:80', { protocol: 'tcp', hostIp: 'fd00::1', hostPort: 8080, containerPort: 80 }],
    // The host address is kept in canonical form, whatever way it was written.
    ['[FD00:0:0::0001]:8080:80', { protocol: 'tcp', hostIp: 'fd00::1', hostPort: 8080, containerPort: 80 }],
    ['8000-8002:9000-9002', { protocol: 'tcp', hostPort: 8000, hostPortEnd: 8002, containerPort: 9000, containerPortEnd: 9002 }],
    ['1:65535', { protocol: 'tcp', hostPort: 1, containerPort: 65535 }],
    ['53:53/UDP', { protocol: 'udp', hostPort: 53, containerPort: 53 }],
    ['8080:80/Tcp', { protocol: 'tcp', hostPort: 8080, containerPort: 80 }],
    // An empty host address is no address: every local address.
    [':8080:80', { protocol: 'tcp', hostPort: 8080, containerPort: 80 }],
  ];
  for (const [text, spec] of cases) {
    await t.test(text, () => {
      assert.deepEqual(parsePortSpec(text), spec);
    });
  }
});

test('parsePortSpec() refuses malformed mappings, naming the mapping', async (t) => {
  const cases: Array<[text: string, why: string]> = [
    ['80', 'HOSTPORT:PORT'],
    ['a:b', 'not a port number'],
    ['0:80', 'not a port number'],
    ['8080:0', 'not a port number'],
    ['70000:80', 'not a port number'],
    ['8080:65536', 'not a port number'],
    ['8080:80/sctp', 'protocol "sctp"'],
    ['8080:80/', 'is not tcp or udp'],
    ['[::1:8080:80', '[IPV6]:HOSTPORT:PORT'],
    ['1.2.3:8080:80', 'host address "1.2.3"'],
    ['300.1.1.1:8080:80', 'host address'],
    ['[fd00::zz]:8080:80', 'host address'],
    ['::1:8080:80', 'HOSTPORT:PORT'],
    ['1.2.3.4:1:8080:80', 'HOSTPORT:PORT'],
    ['[fd00::1]:1:8080:80', 'HOSTPORT:PORT'],
    ['8080-:80', 'not a port number'],
    ['-8080:80', 'not a port number'],
    ['8080:80-', 'not a port number'],
    ['+80:80', 'not a port number'],
    ['8080:80/tcp/udp', 'not a port number'],
    ['', 'HOSTPORT:PORT'],
  ];
  for (const [text, why] of cases) {
    await t.test(JSON.stringify(text), () => {
      assertInvalid(() => parsePortSpec(text), `"${text}"`, why);
    });
  }
});

function rec(family: 4 | 6, hostPort: number, containerPort: number, hostIp: string | null = null, protocol: 'tcp' | 'udp' = 'tcp'): PortRecord {
  return { family, protocol, hostIp: hostIp === null ? null : parseIp(hostIp), hostPort, containerPort };
}

test('expandPorts() gives one record per port, ranges expanded in order', () => {
  assert.deepEqual(expandPorts([parsePortSpec('8000-8002:9000-9002')], V4), [rec(4, 8000, 9000), rec(4, 8001, 9001), rec(4, 8002, 9002)]);
  assert.deepEqual(expandPorts([parsePortSpec('8080:80'), parsePortSpec('8443:443'), parsePortSpec('53:53/udp')], V4), [
    rec(4, 8080, 80),
    rec(4, 8443, 443),
    rec(4, 53, 53, null, 'udp'),
  ]);
  // A one-port range is a port.
  assert.deepEqual(expandPorts([parsePortSpec('8080-8080:80-80')], V4), [rec(4, 8080, 80)]);
  assert.deepEqual(expandPorts([], DUAL), []);
});

test('expandPorts(): without a host address, every family of the network; with one, only its family', () => {
  assert.deepEqual(expandPorts([parsePortSpec('8080:80')], DUAL), [rec(4, 8080, 80), rec(6, 8080, 80)]);
  assert.deepEqual(expandPorts([parsePortSpec('8080-8081:80-81/udp')], DUAL), [
    rec(4, 8080, 80, null, 'udp'),
    rec(4, 8081, 81, null, 'udp'),
    rec(6, 8080, 80, null, 'udp'),
    rec(6, 8081, 81, null, 'udp'),
  ]);
  assert.deepEqual(expandPorts([parsePortSpec('8080:80')], V6), [rec(6, 8080, 80)]);
  assert.deepEqual(expandPorts([parsePortSpec('127.0.0.1:8080:80')], DUAL), [rec(4, 8080, 80, '127.0.0.1')]);
  assert.deepEqual(expandPorts([parsePortSpec('[fd00::1]:8080:80')], DUAL), [rec(6, 8080, 80, 'fd00::1')]);
});

test('expandPorts(): 0.0.0.0 and [::] mean every address of that family only', () => {
  assert.deepEqual(expandPorts([parsePortSpec('0.0.0.0:8080:80')], DUAL), [rec(4, 8080, 80)]);
  assert.deepEqual(expandPorts([parsePortSpec('[::]:8080:80')], DUAL), [rec(6, 8080, 80)]);
  // And it collides with the same port on one address, like any every-address mapping.
  assertInvalid(() => expandPorts([parsePortSpec('0.0.0.0:8080:80'), parsePortSpec('127.0.0.1:8080:81')], V4), 'given twice');
});

test('expandPorts() refuses a host address of a family the network does not have', () => {
  assertInvalid(() => expandPorts([parsePortSpec('[fd00::1]:8080:80')], V4), '[fd00::1]:8080:80/tcp', 'no IPv6 subnet');
  assertInvalid(() => expandPorts([parsePortSpec('127.0.0.1:8080:80')], V6), '127.0.0.1:8080:80/tcp', 'no IPv4 subnet');
});

test('expandPorts() refuses ranges of different lengths and reversed ranges, naming the mapping', () => {
  assertInvalid(() => expandPorts([parsePortSpec('8000-8002:9000-9001')], V4), '8000-8002:9000-9001/tcp', 'differ in length');
  // A range on one side only is a range of different length too.
  assertInvalid(() => expandPorts([parsePortSpec('8000-8002:80')], V4), '8000-8002:80/tcp', 'differ in length');
  assertInvalid(() => expandPorts([parsePortSpec('8080:80-82')], V4), '8080:80-82/tcp', 'differ in length');
  assertInvalid(() => expandPorts([parsePortSpec('8002-8000:9002-9000')], V4), '8002-8000:9002-9000/tcp', 'end before it starts');
  assertInvalid(() => expandPorts([parsePortSpec('8000-8002:9002-9000')], V4), '8000-8002:9002-9000/tcp', 'end before it starts');
});

test('expandPorts() refuses a host port given twice, within or across mappings', () => {
  assertInvalid(() => expandPorts([parsePortSpec('8080:80'), parsePortSpec('8080:81')], V4), '8080:81/tcp', 'host port 8080/tcp is given twice');
  assertInvalid(() => expandPorts([parsePortSpec('8000-8005:9000-9005'), parsePortSpec('8005-8006:80-81')], V4), '8005-8006:80-81/tcp', 'host port 8005/tcp');
  assertInvalid(() => expandPorts([parsePortSpec('127.0.0.1:8080:80'), parsePortSpec('127.0.0.1:8080:81')], V4), 'given twice');
  // Every address and one address overlap, in either order.
  assertInvalid(() => expandPorts([parsePortSpec('8080:80'), parsePortSpec('127.0.0.1:8080:81')], V4), 'given twice');
  assertInvalid(() => expandPorts([parsePortSpec('127.0.0.1:8080:81'), parsePortSpec('8080:80')], V4), 'given twice');
  // Different protocols, addresses or families are different host ports.
  assert.equal(expandPorts([parsePortSpec('8080:80'), parsePortSpec('8080:80/udp')], V4).length, 2);
  assert.equal(expandPorts([parsePortSpec('127.0.0.1:8080:80'), parsePortSpec('198.51.100.2:8080:81')], V4).length, 2);
  assert.deepEqual(expandPorts([parsePortSpec('127.0.0.1:8080:80'), parsePortSpec('[fd00::1]:8080:81')], DUAL), [
    rec(4, 8080, 80, '127.0.0.1'),
    rec(6, 8080, 81, 'fd00::1'),
  ]);
  // The same container port behind two host ports is fine.
  assert.equal(expandPorts([parsePortSpec('8080:80'), parsePortSpec('8081:80')], V4).length, 2);
});

test('expandPorts() publishes the whole port range in one mapping, for each family', () => {
  const all = expandPorts([parsePortSpec('1-65535:1-65535')], DUAL);
  assert.equal(all.length, 2 * MAX_PORTS_PER_PROTOCOL);
  assert.deepEqual([all[0], all[65534], all[65535], all.at(-1)], [rec(4, 1, 1), rec(4, 65535, 65535), rec(6, 1, 1), rec(6, 65535, 65535)]);
  // tcp and udp are separate host ports; so are two host addresses.
  assert.equal(expandPorts([parsePortSpec('1-65535:1-65535'), parsePortSpec('1-65535:1-65535/udp')], V4).length, 2 * MAX_PORTS_PER_PROTOCOL);
  assert.equal(expandPorts([parsePortSpec('127.0.0.1:1-30000:1-30000'), parsePortSpec('127.0.0.2:1-35535:1-35535')], V4).length, MAX_PORTS_PER_PROTOCOL);
});

test(`expandPorts() refuses more than ${MAX_PORTS_PER_PROTOCOL} ports of one family and protocol, naming the limit and the count`, () => {
  const limit = `more than the ${MAX_PORTS_PER_PROTOCOL} host ports there are`;
  assertInvalid(() => expandPorts([parsePortSpec('127.0.0.1:1-65535:1-65535'), parsePortSpec('127.0.0.2:1:1')], V4), '65536 IPv4 tcp ports', limit);
  assertInvalid(() => expandPorts([parsePortSpec('1-65535:1-65535/udp'), parsePortSpec('127.0.0.1:1-65535:1-65535/udp')], DUAL), '131070 IPv4 udp ports', limit);
  // As CNI portMappings arrive: one entry per port, each on another host address.
  const many = Array.from({ length: 70_000 }, (_, i): PortSpec => ({ protocol: 'udp', hostIp: `fd00::${(i >> 16) + 1}:${(i & 0xffff).toString(16)}`, hostPort: 8080, containerPort: 80 }));
  assertInvalid(() => expandPorts(many, V6), '70000 IPv6 udp ports', limit);
  // Counted before anything is expanded: the limit is the error even where a port repeats.
  assertInvalid(() => expandPorts([parsePortSpec('1-65535:1-65535'), parsePortSpec('1-65535:1-65535')], V4), '131070 IPv4 tcp ports', limit);
});

test('expandPorts() checks specs that did not come through parsePortSpec (CNI portMappings)', () => {
  const spec = (s: Partial<PortSpec>): PortSpec => ({ protocol: 'tcp', hostPort: 8080, containerPort: 80, ...s });
  assertInvalid(() => expandPorts([spec({ hostPort: 0 })], V4), 'not a port number');
  assertInvalid(() => expandPorts([spec({ hostPort: 70000 })], V4), 'not a port number');
  assertInvalid(() => expandPorts([spec({ containerPort: 8.5 })], V4), 'not a port number');
  assertInvalid(() => expandPorts([spec({ containerPort: -1 })], V4), 'not a port number');
  assertInvalid(() => expandPorts([spec({ hostIp: 'not-an-ip' })], V4), 'host address "not-an-ip"');
  // Host addresses are stored in canonical form.
  assert.deepEqual(expandPorts([spec({ hostIp: 'FD00:0::1' })], V6), [rec(6, 8080, 80, 'fd00::1')]);
});
