import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { InvalidConfigError } from '../errors.js';
import { familyBits, formatIp, ipEquals, ipFromBytes, ipToBytes, isIp, parseIp } from './ip.js';

test('parseIp() reads valid IPv4 and IPv6 text', async (t) => {
  const cases: Array<[text: string, family: 4 | 6, value: bigint]> = [
    ['0.0.0.0', 4, 0n],
    ['10.68.0.1', 4, 0x0a440001n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['192.0.2.100', 4, 0xc0000264n],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['1::', 6, 1n << 112n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['2001:DB8:0:0:0:0:0:1', 6, 0x20010db8000000000000000000000001n],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, 0x20010db8000000000000000000000001n],
    ['fe80::1:2', 6, 0xfe800000000000000000000000010002n],
    ['1:2:3:4:5:6:7::', 6, 0x00010002000300040005000600070000n], // "::" for a single group is valid text
    ['::2:3:4:5:6:7:8', 6, 0x00000002000300040005000600070008n],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, (1n << 128n) - 1n],
    ['::ffff:1.2.3.4', 6, 0xffff01020304n],
    ['::1.2.3.4', 6, 0x01020304n],
    ['64:ff9b::192.0.2.33', 6, 0x0064ff9b0000000000000000c0000221n],
    ['1:2:3:4:5:6:1.2.3.4', 6, 0x00010002000300040005000601020304n],
  ];
  for (const [text, family, value] of cases) {
    await t.test(text, () => {
      assert.deepEqual(parseIp(text), { family, value });
      assert.equal(isIp(text), true);
    });
  }
});

test('parseIp() rejects malformed text', async (t) => {
  const cases = [
    '',
    ' 10.0.0.1',
    '10.0.0.1 ',
    '10.0.0',
    '10.0.0.0.1',
    '10.0.0.256',
    '010.0.0.1', // octal to inet_aton
    '10.0.0.01',
    '10.0.0.-1',
    '10.0.0.+1',
    '10.0.0.0x1',
    '10..0.1',
    '1e1.0.0.1',
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    ':1::',
    '::1:',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '[::1]',
    '1.2.3.4::',
    '::1.2.3.4:1',
    '::ffff:1.2.3',
    '::ffff:1.2.3.04',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::ffff:256.0.0.1',
  ];
  for (const text of cases) {
    await t.test(JSON.stringify(text), () => {
      assert.throws(() => parseIp(text), (err: unknown) => {
        assert.ok(err instanceof InvalidConfigError);
        assert.equal(err.message, `invalid IP address ${JSON.stringify(text)}`);
        return true;
      });
      assert.equal(isIp(text), false);
    });
  }
});

test('formatIp() writes RFC 5952 canonical text', async (t) => {
  const cases: Array<[input: string, canonical: string]> = [
    ['10.68.0.1', '10.68.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // tie: the leftmost run is compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins over an earlier shorter one
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'], // IPv4-mapped in mixed notation (RFC 5952 section 5)
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::102:304'], // deprecated IPv4-compatible form is plain hex
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, canonical] of cases) {
    await t.test(`${input} -> ${canonical}`, () => {
      assert.equal(formatIp(parseIp(input)), canonical);
      // Canonical text is a fixed point.
      assert.equal(formatIp(parseIp(canonical)), canonical);
    });
  }
});

test('ipEquals() compares family and value', () => {
  assert.equal(ipEquals(parseIp('::1'), parseIp('0:0:0:0:0:0:0:1')), true);
  assert.equal(ipEquals(parseIp('10.0.0.1'), parseIp('10.0.0.2')), false);
  // Same value, different family: 0.0.0.1 is not ::1.
  assert.equal(ipEquals(parseIp('0.0.0.1'), parseIp('::1')), false);
});

test('ipToBytes() and ipFromBytes() use network byte order', async (t) => {
  const cases: Array<[text: string, hex: string]> = [
    ['10.68.0.1', '0a440001'],
    ['255.0.0.1', 'ff000001'],
    ['0.0.0.0', '00000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
  ];
  for (const [text, hex] of cases) {
    await t.test(text, () => {
      const ip = parseIp(text);
      assert.equal(ipToBytes(ip).toString('hex'), hex);
      assert.deepEqual(ipFromBytes(Buffer.from(hex, 'hex')), ip);
    });
  }
});

test('ipFromBytes() rejects lengths other than 4 and 16', () => {
  for (const length of [0, 3, 5, 6, 15, 17]) {
    assert.throws(() => ipFromBytes(new Uint8Array(length)), RangeError);
  }
});

test('familyBits() gives the address width', () => {
  assert.equal(familyBits(4), 32);
  assert.equal(familyBits(6), 128);
});
