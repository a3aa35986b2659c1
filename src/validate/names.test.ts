import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { InvalidConfigError } from '../errors.js';
import { validateIfName, validateNetnsName, validateNetworkName } from './names.js';

function assertInvalid(fn: () => void, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidConfigError, `expected InvalidConfigError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

test('validateIfName() accepts what dev_valid_name() accepts', async (t) => {
  const cases = [
    'eth0',
    'a',
    'br-ctnet0',
    'veth1234567890a', // 15 bytes
    'ethernet-1234ü', // 13 ASCII + "ü" (2 bytes) = 15 bytes
    'vlan.100',
    '...',
    'a..b',
    'eth_0@x',
    'ünïcödé', // 11 bytes
  ];
  for (const name of cases) {
    await t.test(JSON.stringify(name), () => {
      assert.doesNotThrow(() => { validateIfName(name); });
    });
  }
});

test('validateIfName() rejects what dev_valid_name() rejects', async (t) => {
  const cases: Array<[name: string, reason: string]> = [
    ['', 'must not be empty'],
    ['a-very-long-name-x', 'longer than 15 bytes'],
    ['veth1234567890ab', 'longer than 15 bytes'], // 16 bytes
    ['ethernet-12345ü', 'longer than 15 bytes'], // 15 characters but 16 bytes
    ['.', 'must not be "." or ".."'],
    ['..', 'must not be "." or ".."'],
    ['br/0', 'must not contain "/"'],
    ['eth0:1', 'must not contain ":"'],
    ['eth 0', 'must not contain whitespace'],
    ['eth\t0', 'must not contain whitespace'],
    ['eth0\n', 'must not contain whitespace'],
    ['eth\v0', 'must not contain whitespace'],
    ['eth\f0', 'must not contain whitespace'],
    ['eth\r0', 'must not contain whitespace'],
    ['eth\u00a00', 'must not contain whitespace'], // U+00A0 is c2 a0 in UTF-8
    ['vòilà', 'must not contain whitespace'], // "à" is c3 a0: the kernel's isspace(0xa0) is true
    ['eth\u00000', 'must not contain a NUL character'],
    ['eth\ud8000', 'not valid Unicode text'], // lone surrogate
  ];
  for (const [name, reason] of cases) {
    await t.test(JSON.stringify(name), () => {
      assertInvalid(() => { validateIfName(name); }, `invalid interface name ${JSON.stringify(name)}: ${reason}`);
    });
  }
});

test('validateIfName() names the value in the message', () => {
  assertInvalid(() => { validateIfName('br:0', 'bridge name'); }, 'invalid bridge name "br:0": must not contain ":"');
});

test('validateNetworkName() allows [a-zA-Z0-9][a-zA-Z0-9_.-]* up to 64 characters', async (t) => {
  const valid = ['a', '0', 'backend', 'Backend.v2', 'net_1-a.b', 'a'.repeat(64), '1..'];
  for (const name of valid) {
    await t.test(`accepts ${JSON.stringify(name)}`, () => {
      assert.doesNotThrow(() => { validateNetworkName(name); });
    });
  }
  const pattern = 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"';
  const invalid: Array<[name: string, reason: string]> = [
    ['', 'must not be empty'],
    ['a'.repeat(65), 'longer than 64 characters'],
    ['-net', pattern],
    ['.net', pattern],
    ['_net', pattern],
    ['net work', pattern],
    ['net/work', pattern],
    ['net:1', pattern],
    ['netü', pattern],
    ['net\n', pattern],
  ];
  for (const [name, reason] of invalid) {
    await t.test(`rejects ${JSON.stringify(name)}`, () => {
      assertInvalid(() => { validateNetworkName(name); }, `invalid network name ${JSON.stringify(name)}: ${reason}`);
    });
  }
});

test('validateNetnsName() follows ip netns add, without whitespace, control characters or a leading "-"', async (t) => {
  const valid = ['ctr-1234', 'a', '...', 'a:b', 'a-', 'x--y', 'a.-b', 'ü'.repeat(127) + 'x', 'x'.repeat(255)];
  for (const name of valid) {
    await t.test(`accepts ${JSON.stringify(name.slice(0, 20))} (${Buffer.byteLength(name)} bytes)`, () => {
      assert.doesNotThrow(() => { validateNetnsName(name); });
    });
  }
  const space = (cp: string): string => `must not contain whitespace or control characters, found ${cp}`;
  const dash = 'must not start with "-", which ip and other tools would read as an option';
  const invalid: Array<[name: string, reason: string]> = [
    ['', 'must not be empty'],
    ['.', 'must not be "." or ".."'],
    ['..', 'must not be "." or ".."'],
    ['a/b', 'must not contain "/"'],
    ['/run/netns/x', 'must not contain "/"'],
    ['x'.repeat(256), 'longer than 255 bytes'],
    ['ü'.repeat(128), 'longer than 255 bytes'], // 128 characters, 256 bytes
    ['a\ud800b', 'not valid Unicode text'], // lone surrogate
    ['-rf', dash],
    ['--help', dash],
    ['-', dash],
    ['-1', dash], // commander passes negative numbers as operands
    ['with space', space('U+0020')],
    ['a\nb', space('U+000A')],
    ['net1\n', space('U+000A')],
    ['a\tb', space('U+0009')],
    ['a\rb', space('U+000D')],
    ['a\vb', space('U+000B')],
    ['a\fb', space('U+000C')],
    ['a\u0000b', space('U+0000')],
    ['a\u001bb', space('U+001B')], // ESC, starts terminal escape sequences
    ['a\u007fb', space('U+007F')], // DEL
    ['a\u0085b', space('U+0085')], // NEL, a C1 control
    ['a\u00a0b', space('U+00A0')], // no-break space
    ['a\u2028b', space('U+2028')], // line separator
    ['a\u3000b', space('U+3000')], // ideographic space
  ];
  for (const [name, reason] of invalid) {
    await t.test(`rejects ${JSON.stringify(name.slice(0, 20))}`, () => {
      assertInvalid(() => { validateNetnsName(name); }, `invalid network namespace name ${JSON.stringify(name)}: ${reason}`);
    });
  }
});
