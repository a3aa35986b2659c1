import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { InvalidConfigError } from '../errors.js';
import {
  cidrBroadcast,
  cidrContains,
  cidrFirstHost,
  cidrHostCount,
  cidrLastHost,
  cidrOverlaps,
  cidrSize,
  formatCidr,
  hostRange,
  parseCidr,
  parseIpWithPrefix,
  withoutPrefix,
} from './cidr.js';
import { formatIp, parseIp } from './ip.js';

test('parseCidr() reads subnets and formatCidr() writes them canonically', async (t) => {
  const cases: Array<[input: string, formatted: string, prefix: number]> = [
    ['10.68.0.0/24', '10.68.0.0/24', 24],
    ['0.0.0.0/0', '0.0.0.0/0', 0],
    ['10.68.0.5/32', '10.68.0.5/32', 32],
    ['10.68.0.4/31', '10.68.0.4/31', 31],
    ['10.68.0.4/30', '10.68.0.4/30', 30],
    ['FD00:0068:0000::/64', 'fd00:68::/64', 64],
    ['::/0', '::/0', 0],
    ['2001:db8::1/128', '2001:db8::1/128', 128],
    ['2001:db8::/127', '2001:db8::/127', 127],
  ];
  for (const [input, formatted, prefix] of cases) {
    await t.test(input, () => {
      const cidr = parseCidr(input);
      assert.equal(cidr.prefix, prefix);
      assert.equal(formatCidr(cidr), formatted);
    });
  }
});

test('parseCidr() rejects bad subnets with a reason', async (t) => {
  const cases: Array<[input: string, message: string]> = [
    ['10.68.0.5/24', 'invalid subnet "10.68.0.5/24": host bits set, did you mean "10.68.0.0/24"?'],
    ['10.68.0.0/8', 'invalid subnet "10.68.0.0/8": host bits set, did you mean "10.0.0.0/8"?'],
    ['2001:DB8::1/32', 'invalid subnet "2001:DB8::1/32": host bits set, did you mean "2001:db8::/32"?'],
    ['10.68.0.1/0', 'invalid subnet "10.68.0.1/0": host bits set, did you mean "0.0.0.0/0"?'],
    ['10.68.0.0', 'invalid subnet "10.68.0.0": missing prefix length'],
    ['10.68.0.0/', 'invalid subnet "10.68.0.0/": prefix length "" is not a number from 0 to 32'],
    ['10.68.0.0/33', 'invalid subnet "10.68.0.0/33": prefix length "33" is not a number from 0 to 32'],
    ['fd00::/129', 'invalid subnet "fd00::/129": prefix length "129" is not a number from 0 to 128'],
    ['10.68.0.0/024', 'invalid subnet "10.68.0.0/024": prefix length "024" is not a number from 0 to 32'],
    ['10.68.0.0/-1', 'invalid subnet "10.68.0.0/-1": prefix length "-1" is not a number from 0 to 32'],
    ['10.68.0.0/24 ', 'invalid subnet "10.68.0.0/24 ": prefix length "24 " is not a number from 0 to 32'],
    ['10.68.0.0/24/24', 'invalid subnet "10.68.0.0/24/24": prefix length "24/24" is not a number from 0 to 32'],
    ['10.68.0/24', 'invalid subnet "10.68.0/24": "10.68.0" is not an IP address'],
    ['/24', 'invalid subnet "/24": "" is not an IP address'],
  ];
  for (const [input, message] of cases) {
    await t.test(input, () => {
      assert.throws(() => parseCidr(input), (err: unknown) => {
        assert.ok(err instanceof InvalidConfigError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});

test('parseIpWithPrefix() keeps the host bits and derives the subnet', async (t) => {
  const cases: Array<[input: string, ip: string, subnet: string]> = [
    ['10.0.0.5/24', '10.0.0.5', '10.0.0.0/24'],
    ['10.0.0.5/32', '10.0.0.5', '10.0.0.5/32'],
    ['192.168.1.1/0', '192.168.1.1', '0.0.0.0/0'],
    ['fd00:68::1/64', 'fd00:68::1', 'fd00:68::/64'],
    ['fe80::1:2:3:4/10', 'fe80::1:2:3:4', 'fe80::/10'],
  ];
  for (const [input, ip, subnet] of cases) {
    await t.test(input, () => {
      const parsed = parseIpWithPrefix(input);
      assert.equal(formatIp(parsed.ip), ip);
      assert.equal(formatCidr(parsed.cidr), subnet);
    });
  }
  await t.test('rejects a missing or bad prefix', () => {
    assert.throws(() => parseIpWithPrefix('10.0.0.5'), {
      name: 'InvalidConfigError',
      message: 'invalid interface address "10.0.0.5": missing prefix length',
    });
    assert.throws(() => parseIpWithPrefix('10.0.0.5/40'), InvalidConfigError);
    assert.throws(() => parseIpWithPrefix('10.0.0.300/24'), InvalidConfigError);
  });
});

test('cidrContains() checks membership and family', async (t) => {
  const cases: Array<[subnet: string, ip: string, expected: boolean]> = [
    ['10.68.0.0/24', '10.68.0.0', true],
    ['10.68.0.0/24', '10.68.0.255', true],
    ['10.68.0.0/24', '10.68.1.0', false],
    ['10.68.0.0/24', '10.67.255.255', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['10.68.0.5/32', '10.68.0.5', true],
    ['10.68.0.5/32', '10.68.0.4', false],
    ['fd00::/64', 'fd00::ffff:ffff:ffff:ffff', true],
    ['fd00::/64', 'fd00:0:0:1::', false],
    ['::/0', '10.0.0.1', false], // the IPv6 default route does not cover IPv4 addresses
    ['0.0.0.0/0', '::1', false],
  ];
  for (const [subnet, ip, expected] of cases) {
    await t.test(`${subnet} contains ${ip}: ${expected}`, () => {
      assert.equal(cidrContains(parseCidr(subnet), parseIp(ip)), expected);
    });
  }
});

test('cidrOverlaps() is symmetric and false across families', async (t) => {
  const cases: Array<[a: string, b: string, expected: boolean]> = [
    ['10.0.0.0/8', '10.68.0.0/24', true],
    ['10.68.0.0/24', '10.68.0.0/24', true],
    ['10.68.0.0/24', '10.68.1.0/24', false],
    ['10.68.0.0/23', '10.68.1.0/24', true],
    ['10.68.0.0/30', '10.68.0.4/30', false],
    ['0.0.0.0/0', '192.168.0.0/16', true],
    ['fd00::/8', 'fd00:68::/64', true],
    ['fd00:68::/64', 'fd00:69::/64', false],
    ['::/0', '0.0.0.0/0', false],
  ];
  for (const [a, b, expected] of cases) {
    await t.test(`${a} ${b}: ${expected}`, () => {
      assert.equal(cidrOverlaps(parseCidr(a), parseCidr(b)), expected);
      assert.equal(cidrOverlaps(parseCidr(b), parseCidr(a)), expected);
    });
  }
});

test('cidrSize(), cidrBroadcast() and the usable host range', async (t) => {
  const cases: Array<[subnet: string, size: bigint, broadcast: string, first: string, last: string, count: bigint]> = [
    ['10.68.0.0/24', 256n, '10.68.0.255', '10.68.0.1', '10.68.0.254', 254n],
    ['10.68.0.4/30', 4n, '10.68.0.7', '10.68.0.5', '10.68.0.6', 2n],
    ['10.68.0.8/29', 8n, '10.68.0.15', '10.68.0.9', '10.68.0.14', 6n],
    ['0.0.0.0/0', 1n << 32n, '255.255.255.255', '0.0.0.1', '255.255.255.254', (1n << 32n) - 2n],
    // IPv6: the network address (subnet-router anycast) is excluded, the last address is usable.
    ['fd00::/64', 1n << 64n, 'fd00::ffff:ffff:ffff:ffff', 'fd00::1', 'fd00::ffff:ffff:ffff:ffff', (1n << 64n) - 1n],
    ['fd00::/126', 4n, 'fd00::3', 'fd00::1', 'fd00::3', 3n],
    ['fd00::/127', 2n, 'fd00::1', 'fd00::1', 'fd00::1', 1n],
  ];
  for (const [subnet, size, broadcast, first, last, count] of cases) {
    await t.test(subnet, () => {
      const cidr = parseCidr(subnet);
      assert.equal(cidrSize(cidr), size);
      assert.equal(formatIp(cidrBroadcast(cidr)), broadcast);
      assert.equal(formatIp(cidrFirstHost(cidr)), first);
      assert.equal(formatIp(cidrLastHost(cidr)), last);
      assert.equal(cidrHostCount(cidr), count);
      const range = hostRange(cidr);
      assert.equal(formatIp(range.first), first);
      assert.equal(formatIp(range.last), last);
    });
  }
});

test('hostRange() refuses subnets without a usable address', async (t) => {
  const v4 = 'it has no address besides the network and broadcast addresses';
  const cases: Array<[subnet: string, broadcast: string, message: string]> = [
    ['10.68.0.4/31', '10.68.0.5', `subnet "10.68.0.4/31" is too small: ${v4}`],
    ['10.68.0.5/32', '10.68.0.5', `subnet "10.68.0.5/32" is too small: ${v4}`],
    ['fd00::5/128', 'fd00::5', 'subnet "fd00::5/128" is too small: it has no address besides the network address'],
  ];
  for (const [subnet, broadcast, message] of cases) {
    await t.test(subnet, () => {
      const cidr = parseCidr(subnet);
      assert.equal(cidrHostCount(cidr), 0n);
      for (const fn of [hostRange, cidrFirstHost, cidrLastHost]) {
        assert.throws(() => fn(cidr), { name: 'InvalidConfigError', message });
      }
      // The last address still exists; it is only not usable.
      assert.equal(formatIp(cidrBroadcast(cidr)), broadcast);
    });
  }
});

test('withoutPrefix() keeps the address part of address/prefix text', () => {
  assert.equal(withoutPrefix('10.68.0.2/24'), '10.68.0.2');
  assert.equal(withoutPrefix('fd00:68::2/64'), 'fd00:68::2');
  assert.equal(withoutPrefix('10.68.0.2'), '10.68.0.2');
});
