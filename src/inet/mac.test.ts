import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { InvalidConfigError } from '../errors.js';
import { assertUnicastMac, derivedMac, formatMac, parseMac, randomMac } from './mac.js';

test('parseMac() reads six colon-separated hex octets in either case', async (t) => {
  const cases: Array<[text: string, hex: string, formatted: string]> = [
    ['02:42:ac:11:00:02', '0242ac110002', '02:42:ac:11:00:02'],
    ['02:42:AC:11:00:02', '0242ac110002', '02:42:ac:11:00:02'],
    ['Fe:fF:00:00:00:01', 'feff00000001', 'fe:ff:00:00:00:01'],
    ['00:00:00:00:00:00', '000000000000', '00:00:00:00:00:00'],
    ['ff:ff:ff:ff:ff:ff', 'ffffffffffff', 'ff:ff:ff:ff:ff:ff'],
  ];
  for (const [text, hex, formatted] of cases) {
    await t.test(text, () => {
      const mac = parseMac(text);
      assert.equal(mac.toString('hex'), hex);
      assert.equal(formatMac(mac), formatted);
    });
  }
});

test('parseMac() rejects other text', async (t) => {
  const cases = [
    '',
    '02:42:ac:11:00',
    '02:42:ac:11:00:02:03',
    '02-42-ac-11-00-02',
    '0242.ac11.0002',
    '0242ac110002',
    '2:42:ac:11:0:2',
    '02:42:ac:11:00:0g',
    '02:42:ac:11:00:02 ',
    ' 02:42:ac:11:00:02',
    '02:42:ac:11:00:002',
    '02:42:ac:11:00:02:',
  ];
  for (const text of cases) {
    await t.test(JSON.stringify(text), () => {
      assert.throws(() => parseMac(text), (err: unknown) => {
        assert.ok(err instanceof InvalidConfigError);
        assert.equal(err.message, `invalid MAC address ${JSON.stringify(text)}`);
        return true;
      });
    });
  }
});

test('assertUnicastMac() refuses multicast, broadcast and all-zero addresses', async (t) => {
  const cases: Array<[text: string, unicast: boolean]> = [
    ['02:42:ac:11:00:02', true],
    ['00:00:00:00:00:01', true],
    ['fe:ff:ff:ff:ff:ff', true],
    ['01:00:5e:00:00:01', false], // IPv4 multicast
    ['33:33:00:00:00:01', false], // IPv6 multicast
    ['03:00:00:00:00:00', false], // multicast and locally administered
    ['ff:ff:ff:ff:ff:ff', false], // broadcast
    ['00:00:00:00:00:00', false],
  ];
  for (const [text, unicast] of cases) {
    await t.test(`${text}: ${unicast ? 'unicast' : 'not unicast'}`, () => {
      const call = (): void => { assertUnicastMac(parseMac(text)); };
      if (unicast) assert.doesNotThrow(call);
      else assert.throws(call, { name: 'InvalidConfigError', message: `MAC address "${text}" is not a unicast address` });
    });
  }
});

test('formatMac() and assertUnicastMac() refuse buffers that are not 6 bytes', () => {
  for (const length of [0, 5, 7, 8]) {
    assert.throws(() => formatMac(new Uint8Array(length)), RangeError);
    assert.throws(() => { assertUnicastMac(new Uint8Array(length).fill(2)); }, RangeError);
  }
});

test('randomMac() is unicast, locally administered and random', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const mac = randomMac();
    assert.equal(mac.length, 6);
    const first = mac[0] ?? 0xff;
    assert.equal(first & 0x01, 0, 'multicast bit must be clear');
    assert.equal(first & 0x02, 0x02, 'locally administered bit must be set');
    assert.doesNotThrow(() => { assertUnicastMac(mac); });
    seen.add(formatMac(mac));
  }
  // 46 random bits: a repeat among 1000 draws has a probability of about 1e-8.
  assert.equal(seen.size, 1000);
  // The other bits of the first octet are random too, not fixed to 0x02.
  const firstOctets = new Set(Array.from({ length: 200 }, () => randomMac()[0]));
  assert.ok(firstOctets.size > 1);
});

test('derivedMac() is unicast, locally administered, the same for a seed and different across seeds', () => {
  const macs = Array.from({ length: 500 }, (_, i) => derivedMac(`bridge ${i.toString(16).padStart(16, '0')}`));
  for (const mac of macs) {
    assert.equal(mac.length, 6);
    assert.equal((mac[0] ?? 0xff) & 0x03, 0x02, 'multicast bit clear, locally administered bit set');
  }
  assert.equal(new Set(macs.map((m) => formatMac(m))).size, 500);
  assert.equal(formatMac(derivedMac('bridge 0a1b2c3d4e5f6a7b')), formatMac(derivedMac('bridge 0a1b2c3d4e5f6a7b')));
});
