import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { InvalidConfigError } from '../errors.js';
import { formatCidr } from '../inet/cidr.js';
import { planNetwork } from './config.js';

const ID = '0123456789abcdef';

test('planNetwork() refuses a subnet that overlaps a reserved range, naming the range', async (t) => {
  const loopback4 = 'loopback addresses (127.0.0.0/8)';
  const thisNet = '"this network" addresses (0.0.0.0/8)';
  const linkLocal4 = 'link-local addresses (169.254.0.0/16)';
  const multicast4 = 'multicast addresses (224.0.0.0/4)';
  const reserved4 = 'reserved addresses and the limited broadcast address (240.0.0.0/4)';
  const unspecified = 'the unspecified address (::/128)';
  const cases: Array<[subnets: string[], subnet: string, range: string]> = [
    [['127.0.0.0/8'], '127.0.0.0/8', loopback4],
    [['127.1.2.0/24'], '127.1.2.0/24', loopback4],
    [['96.0.0.0/3'], '96.0.0.0/3', loopback4], // 96.0.0.0 - 127.255.255.255 holds loopback
    [['0.0.0.0/8'], '0.0.0.0/8', thisNet],
    [['0.0.0.0/16'], '0.0.0.0/16', thisNet],
    [['0.0.0.0/0'], '0.0.0.0/0', thisNet], // every /0 overlaps every range of its family
    [['128.0.0.0/1'], '128.0.0.0/1', linkLocal4],
    [['169.254.0.0/16'], '169.254.0.0/16', linkLocal4],
    [['169.254.1.0/24'], '169.254.1.0/24', linkLocal4],
    [['224.0.0.0/4'], '224.0.0.0/4', multicast4],
    [['224.0.0.0/24'], '224.0.0.0/24', multicast4],
    [['239.255.0.0/16'], '239.255.0.0/16', multicast4],
    [['240.0.0.0/4'], '240.0.0.0/4', reserved4],
    [['248.0.0.0/5'], '248.0.0.0/5', reserved4],
    [['255.255.255.0/24'], '255.255.255.0/24', reserved4], // holds 255.255.255.255
    [['::/0'], '::/0', unspecified],
    [['::/64'], '::/64', unspecified],
    [['::/127'], '::/127', unspecified],
    [['::1/128'], '::1/128', 'the loopback address (::1/128)'],
    [['::ffff:0:0/96'], '::ffff:0:0/96', 'IPv4-mapped addresses (::ffff:0.0.0.0/96)'],
    [['::ffff:10.0.0.0/120'], '::ffff:10.0.0.0/120', 'IPv4-mapped addresses (::ffff:0.0.0.0/96)'],
    [['fe80::/10'], 'fe80::/10', 'link-local addresses (fe80::/10)'],
    [['fe80::/64'], 'fe80::/64', 'link-local addresses (fe80::/10)'],
    [['febf:1::/64'], 'febf:1::/64', 'link-local addresses (fe80::/10)'],
    [['FE80::/64'], 'FE80::/64', 'link-local addresses (fe80::/10)'], // quoted as written
    [['ff00::/8'], 'ff00::/8', 'multicast addresses (ff00::/8)'],
    [['ff02::/16'], 'ff02::/16', 'multicast addresses (ff00::/8)'],
    [['10.1.0.0/24', 'fe80::/64'], 'fe80::/64', 'link-local addresses (fe80::/10)'], // the second subnet too
  ];
  for (const [subnets, subnet, range] of cases) {
    await t.test(subnets.join(' '), () => {
      assert.throws(
        () => planNetwork({ name: 'n1', subnets }, ID),
        (err: unknown) => {
          assert.ok(err instanceof InvalidConfigError, `expected InvalidConfigError, got ${String(err)}`);
          assert.equal(err.message, `invalid subnet ${JSON.stringify(subnet)}: ${range} cannot be in a container network`);
          return true;
        },
      );
    });
  }
});

test('planNetwork() accepts subnets next to the reserved ranges', async (t) => {
  const cases = [
    '10.0.0.0/8',
    '1.0.0.0/8', // right after 0.0.0.0/8
    '126.255.255.0/24', // right before 127.0.0.0/8
    '128.0.0.0/16', // right after it
    '100.64.0.0/10', // shared address space (carrier-grade NAT): usable behind a host
    '169.253.255.0/24',
    '169.255.0.0/16',
    '192.0.2.0/24', // documentation addresses: the integration tests' "internet"
    '223.255.255.0/24', // right before 224.0.0.0/4
    'fd00::/64',
    'fc00::/7',
    '2001:db8::/32',
    '::fffe:0:0/96', // right before ::ffff:0:0/96
    'fe00::/9', // right before fe80::/10
    'fec0::/10', // right after it
    'fe00::/16',
  ];
  for (const subnet of cases) {
    await t.test(subnet, () => {
      const plan = planNetwork({ name: 'n1', subnets: [subnet] }, ID);
      assert.equal(plan.subnets[0] === undefined ? undefined : formatCidr(plan.subnets[0].subnet), subnet);
    });
  }
});
