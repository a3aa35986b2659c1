import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ConflictError, InvalidConfigError, IpamExhaustedError } from '../errors.js';
import { MAX_ALLOCATION_PROBES, allocateAddress, defaultGateway, validateGateway, type AllocateOptions } from './allocator.js';
import { parseCidr } from '../inet/cidr.js';
import { formatIp, parseIp, type IpAddress } from '../inet/ip.js';

interface Scenario {
  name: string;
  subnet: string;
  gateway: string;
  taken?: string[];
  last?: string;
  requested?: string;
}

/** Build allocator options from text, with `isTaken` backed by a set (a minimal fake store). */
function options(s: Scenario): AllocateOptions {
  const taken = new Set((s.taken ?? []).map((text) => parseIp(text).value));
  const result: AllocateOptions = {
    subnet: parseCidr(s.subnet),
    gateway: parseIp(s.gateway),
    isTaken: (ip: IpAddress) => taken.has(ip.value),
  };
  if (s.last !== undefined) result.last = parseIp(s.last);
  if (s.requested !== undefined) result.requested = parseIp(s.requested);
  return result;
}

test('allocateAddress() hands out addresses round robin', async (t) => {
  const cases: Array<Scenario & { expected: string }> = [
    { name: 'first host after the gateway', subnet: '10.68.0.0/24', gateway: '10.68.0.1', expected: '10.68.0.2' },
    { name: 'gateway not at the start', subnet: '10.68.0.0/24', gateway: '10.68.0.254', expected: '10.68.0.1' },
    { name: 'continues after last', subnet: '10.68.0.0/24', gateway: '10.68.0.1', last: '10.68.0.5', expected: '10.68.0.6' },
    {
      name: 'skips taken addresses',
      subnet: '10.68.0.0/24',
      gateway: '10.68.0.1',
      last: '10.68.0.5',
      taken: ['10.68.0.6', '10.68.0.7'],
      expected: '10.68.0.8',
    },
    {
      name: 'wraps around after the last host, skipping the gateway',
      subnet: '10.68.0.0/24',
      gateway: '10.68.0.1',
      last: '10.68.0.254',
      expected: '10.68.0.2',
    },
    {
      name: 'wraps around past taken addresses on both ends',
      subnet: '10.68.0.0/24',
      gateway: '10.68.0.1',
      last: '10.68.0.253',
      taken: ['10.68.0.254', '10.68.0.2', '10.68.0.3'],
      expected: '10.68.0.4',
    },
    {
      name: 'never hands out the broadcast address',
      subnet: '10.68.0.0/24',
      gateway: '10.68.0.1',
      last: '10.68.0.253',
      taken: ['10.68.0.254'],
      expected: '10.68.0.2',
    },
    {
      name: 'reuses last itself when it is the only free address',
      subnet: '10.68.0.0/29',
      gateway: '10.68.0.1',
      last: '10.68.0.4',
      taken: ['10.68.0.2', '10.68.0.3', '10.68.0.5', '10.68.0.6'],
      expected: '10.68.0.4',
    },
    {
      name: 'last outside the subnet starts at the first host',
      subnet: '10.68.0.0/24',
      gateway: '10.68.0.1',
      last: '10.99.0.7',
      expected: '10.68.0.2',
    },
    {
      name: 'last of the other family starts at the first host',
      subnet: '10.68.0.0/24',
      gateway: '10.68.0.1',
      last: '::a44:7',
      expected: '10.68.0.2',
    },
    { name: '/30: the one container address', subnet: '10.68.0.0/30', gateway: '10.68.0.1', expected: '10.68.0.2' },
    {
      name: '/30: the one container address with the gateway last',
      subnet: '10.68.0.0/30',
      gateway: '10.68.0.2',
      last: '10.68.0.1',
      expected: '10.68.0.1',
    },
    { name: 'IPv6 first host after the gateway', subnet: 'fd00:68::/64', gateway: 'fd00:68::1', expected: 'fd00:68::2' },
    {
      name: 'IPv6 hands out the last address (there is no broadcast)',
      subnet: 'fd00:68::/120',
      gateway: 'fd00:68::1',
      last: 'fd00:68::fe',
      expected: 'fd00:68::ff',
    },
    {
      name: 'IPv6 wraps around from the last address',
      subnet: 'fd00:68::/64',
      gateway: 'fd00:68::1',
      last: 'fd00:68::ffff:ffff:ffff:ffff',
      expected: 'fd00:68::2',
    },
    { name: 'IPv6 /126', subnet: 'fd00::/126', gateway: 'fd00::1', last: 'fd00::3', expected: 'fd00::2' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(formatIp(allocateAddress(options(c))), c.expected);
    });
  }
});

test('allocateAddress() reports exhaustion', async (t) => {
  const cases: Array<Scenario & { message: string }> = [
    {
      name: '/30 with its container address taken',
      subnet: '10.68.0.0/30',
      gateway: '10.68.0.1',
      taken: ['10.68.0.2'],
      message: 'no free address left in subnet "10.68.0.0/30"',
    },
    {
      name: '/29 full, starting from the middle',
      subnet: '10.68.0.0/29',
      gateway: '10.68.0.1',
      last: '10.68.0.4',
      taken: ['10.68.0.2', '10.68.0.3', '10.68.0.4', '10.68.0.5', '10.68.0.6'],
      message: 'no free address left in subnet "10.68.0.0/29"',
    },
    {
      name: 'IPv6 /127: only the gateway fits',
      subnet: 'fd00::/127',
      gateway: 'fd00::1',
      message: 'no free address left in subnet "fd00::/127"',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.throws(() => allocateAddress(options(c)), (err: unknown) => {
        assert.ok(err instanceof IpamExhaustedError);
        assert.equal(err.code, 'CTNET_IPAM_EXHAUSTED');
        assert.equal(err.message, c.message);
        return true;
      });
    });
  }
});

test('allocateAddress() scans a huge IPv6 subnet a bounded number of times', async (t) => {
  const subnet = parseCidr('fd00:68::/64');
  const gateway = parseIp('fd00:68::1');
  const last = parseIp('fd00:68::1000');
  const start = last.value + 1n;

  await t.test('gives up after MAX_ALLOCATION_PROBES probes', () => {
    let calls = 0;
    const isTaken = (): boolean => {
      calls++;
      return true;
    };
    assert.throws(() => allocateAddress({ subnet, gateway, last, isTaken }), {
      name: 'IpamExhaustedError',
      message: `no free address found in subnet "fd00:68::/64" after looking at ${MAX_ALLOCATION_PROBES} addresses`,
    });
    assert.equal(MAX_ALLOCATION_PROBES, 65536);
    assert.equal(calls, MAX_ALLOCATION_PROBES);
  });

  await t.test('still finds a free address at the last probe', () => {
    const limit = start + BigInt(MAX_ALLOCATION_PROBES) - 1n;
    const isTaken = (ip: IpAddress): boolean => ip.value < limit;
    assert.equal(allocateAddress({ subnet, gateway, last, isTaken }).value, limit);
  });
});

test('allocateAddress() honours a static request', async (t) => {
  const cases: Array<Scenario & { expected: string }> = [
    { name: 'free address', subnet: '10.68.0.0/24', gateway: '10.68.0.1', requested: '10.68.0.7', expected: '10.68.0.7' },
    {
      name: 'ignores last',
      subnet: '10.68.0.0/24',
      gateway: '10.68.0.1',
      last: '10.68.0.9',
      requested: '10.68.0.3',
      expected: '10.68.0.3',
    },
    { name: 'last host', subnet: '10.68.0.0/24', gateway: '10.68.0.1', requested: '10.68.0.254', expected: '10.68.0.254' },
    { name: 'IPv6 last address', subnet: 'fd00::/64', gateway: 'fd00::1', requested: 'fd00::ffff:ffff:ffff:ffff', expected: 'fd00::ffff:ffff:ffff:ffff' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(formatIp(allocateAddress(options(c))), c.expected);
    });
  }
});

test('allocateAddress() refuses bad static requests', async (t) => {
  const base = { subnet: '10.68.0.0/24', gateway: '10.68.0.1' };
  const cases: Array<Scenario & { error: new (message: string) => Error; message: string }> = [
    {
      ...base,
      name: 'outside the subnet',
      requested: '10.1.0.5',
      error: InvalidConfigError,
      message: 'address "10.1.0.5" is not in subnet "10.68.0.0/24"',
    },
    {
      ...base,
      name: 'other family',
      requested: '::ffff:10.68.0.5',
      error: InvalidConfigError,
      message: 'address "::ffff:10.68.0.5" is not in subnet "10.68.0.0/24"',
    },
    {
      ...base,
      name: 'network address',
      requested: '10.68.0.0',
      error: InvalidConfigError,
      message: 'address "10.68.0.0" is the network address in subnet "10.68.0.0/24" and cannot be assigned',
    },
    {
      ...base,
      name: 'broadcast address',
      requested: '10.68.0.255',
      error: InvalidConfigError,
      message: 'address "10.68.0.255" is the broadcast address in subnet "10.68.0.0/24" and cannot be assigned',
    },
    {
      ...base,
      name: 'gateway address',
      requested: '10.68.0.1',
      error: InvalidConfigError,
      message: 'address "10.68.0.1" is the gateway address in subnet "10.68.0.0/24" and cannot be assigned',
    },
    {
      name: 'IPv6 network address',
      subnet: 'fd00::/64',
      gateway: 'fd00::1',
      requested: 'fd00::',
      error: InvalidConfigError,
      message: 'address "fd00::" is the network address in subnet "fd00::/64" and cannot be assigned',
    },
    {
      ...base,
      name: 'taken',
      requested: '10.68.0.7',
      taken: ['10.68.0.7'],
      error: ConflictError,
      message: 'address "10.68.0.7" is already in use in subnet "10.68.0.0/24"',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.throws(() => allocateAddress(options(c)), (err: unknown) => {
        assert.ok(err instanceof c.error, `expected ${c.error.name}, got ${String(err)}`);
        assert.equal(err.message, c.message);
        return true;
      });
    });
  }
});

test('allocateAddress() refuses subnets and gateways that cannot work', async (t) => {
  const cases: Array<Scenario & { message: string }> = [
    {
      name: 'IPv4 /31',
      subnet: '10.68.0.0/31',
      gateway: '10.68.0.0',
      message: 'subnet "10.68.0.0/31" is too small: it has no address besides the network and broadcast addresses',
    },
    {
      name: 'IPv4 /32',
      subnet: '10.68.0.1/32',
      gateway: '10.68.0.1',
      message: 'subnet "10.68.0.1/32" is too small: it has no address besides the network and broadcast addresses',
    },
    {
      name: 'IPv6 /128',
      subnet: 'fd00::1/128',
      gateway: 'fd00::1',
      message: 'subnet "fd00::1/128" is too small: it has no address besides the network address',
    },
    {
      name: 'gateway outside the subnet',
      subnet: '10.68.0.0/24',
      gateway: '10.1.0.1',
      message: 'gateway "10.1.0.1" is not in subnet "10.68.0.0/24"',
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.throws(() => allocateAddress(options(c)), { name: 'InvalidConfigError', message: c.message });
    });
  }
});

test('validateGateway() accepts only usable addresses', async (t) => {
  const cases: Array<[subnet: string, gateway: string, message: string | undefined]> = [
    ['10.68.0.0/24', '10.68.0.1', undefined],
    ['10.68.0.0/24', '10.68.0.254', undefined],
    ['10.68.0.0/30', '10.68.0.2', undefined],
    ['fd00::/64', 'fd00::1', undefined],
    ['fd00::/64', 'fd00::ffff:ffff:ffff:ffff', undefined],
    ['10.68.0.0/24', '10.1.0.1', 'gateway "10.1.0.1" is not in subnet "10.68.0.0/24"'],
    ['10.68.0.0/24', 'fd00::1', 'gateway "fd00::1" is not in subnet "10.68.0.0/24"'],
    ['10.68.0.0/24', '10.68.0.0', 'gateway "10.68.0.0" is the network address in subnet "10.68.0.0/24"'],
    ['10.68.0.0/24', '10.68.0.255', 'gateway "10.68.0.255" is the broadcast address in subnet "10.68.0.0/24"'],
    ['fd00::/64', 'fd00::', 'gateway "fd00::" is the network address in subnet "fd00::/64"'],
    ['10.68.0.0/31', '10.68.0.1', 'subnet "10.68.0.0/31" is too small: it has no address besides the network and broadcast addresses'],
  ];
  for (const [subnet, gateway, message] of cases) {
    await t.test(`${gateway} in ${subnet}`, () => {
      const call = (): void => { validateGateway(parseCidr(subnet), parseIp(gateway)); };
      if (message === undefined) assert.doesNotThrow(call);
      else assert.throws(call, { name: 'InvalidConfigError', message });
    });
  }
});

test('defaultGateway() is the first host when a container address is left', async (t) => {
  const cases: Array<[subnet: string, expected: string | undefined]> = [
    ['10.68.0.0/24', '10.68.0.1'],
    ['10.68.0.4/30', '10.68.0.5'],
    ['10.68.0.4/31', undefined],
    ['10.68.0.4/32', undefined],
    ['fd00:68::/64', 'fd00:68::1'],
    ['fd00::/126', 'fd00::1'],
    ['fd00::/127', undefined],
    ['fd00::/128', undefined],
  ];
  for (const [subnet, expected] of cases) {
    await t.test(subnet, () => {
      const cidr = parseCidr(subnet);
      if (expected !== undefined) {
        assert.equal(formatIp(defaultGateway(cidr)), expected);
      } else {
        assert.throws(() => defaultGateway(cidr), {
          name: 'InvalidConfigError',
          message: `subnet "${subnet}" is too small: it leaves no container address next to the gateway`,
        });
      }
    });
  }
});
