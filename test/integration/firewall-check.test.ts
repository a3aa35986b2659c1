/**
 * Checking and mending the nftables driver's objects against the real kernel: each kind of damage
 * (a flushed ruleset, a deleted table, chain or element, a flushed chain) is made with `nft` itself,
 * `checkNetwork`/`checkPorts` must name it and `networkPresent` see a lost chain, and a second
 * `setupNetwork`/`setupPorts` must bring back exactly what a fresh setup made, judged by `nft -j list`.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { parseCidr } from '../../src/inet/cidr.js';
import { parseIp } from '../../src/inet/ip.js';
import type { FirewallEndpoint, FirewallNetwork } from '../../src/firewall/driver.js';
import { NftFirewallDriver } from '../../src/firewall/nft/nft-driver.js';
import { dropCtnetTable, hasCtnetTable, sandboxSkipReason, sh } from '../helpers/sandbox.js';

const skip = sandboxSkipReason() ?? false;

const NAT: FirewallNetwork = {
  id: 'ca01',
  name: 'chk-nat',
  mode: 'nat',
  subnets: [
    parseCidr('10.97.1.0/24'),
    parseCidr('fd00:97:1::/64'),
  ],
};
const INTERNAL: FirewallNetwork = { id: 'cb02', name: 'chk-internal', mode: 'internal', subnets: [parseCidr('10.97.2.0/24')] };
const EP: FirewallEndpoint = {
  id: 'ec01',
  networkId: NAT.id,
  ports: [
    { family: 4, protocol: 'tcp', hostPort: 18080, containerIp: parseIp('10.97.1.2'), containerPort: 80 },
    { family: 4, protocol: 'udp', hostIp: parseIp('192.0.2.10'), hostPort: 15353, containerIp: parseIp('10.97.1.2'), containerPort: 53 },
  ],
};

type Json = Record<string, unknown>;
const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `nft -j list table inet ctnet` without handles, one line per object, sorted: chains, sets and
 * maps by name (their elements sorted), rules by chain and their place in it. Two tables with the
 * same lines filter and translate alike.
 */
async function tableShape(): Promise<string[]> {
  const doc: unknown = JSON.parse(await sh('nft', ['-j', 'list', 'table', 'inet', 'ctnet']));
  assert.ok(isJson(doc) && Array.isArray(doc['nftables']));
  const lines: string[] = [];
  const rulesSeen = new Map<string, number>();
  for (const item of doc['nftables'] as unknown[]) {
    if (!isJson(item) || 'metainfo' in item) continue;
    const [kind, raw] = Object.entries(item)[0] ?? [];
    assert.ok(kind !== undefined && isJson(raw));
    const { handle: _handle, ...obj } = raw;
    if (Array.isArray(obj['elem'])) obj['elem'] = obj['elem'].map((e) => JSON.stringify(e)).sort();
    if (kind === 'rule') {
      const chain = String(obj['chain']);
      const place = rulesSeen.get(chain) ?? 0;
      rulesSeen.set(chain, place + 1);
      lines.push(`rule ${chain} #${place} ${JSON.stringify(obj)}`);
    } else {
      lines.push(`${kind} ${String(obj['name'])} ${JSON.stringify(obj)}`);
    }
  }
  return lines.sort();
}

async function nft(...cmds: string[][]): Promise<void> {
  for (const args of cmds) await sh('nft', args);
}

interface Damage {
  name: string;
  commands: string[][];
  /** What checkNetwork names for NAT and INTERNAL afterwards. */
  problems: { nat: string[]; internal: string[] };
  /** What networkPresent answers for NAT and INTERNAL afterwards. */
  present: { nat: boolean; internal: boolean };
}

const NO_TABLE = ['table inet ctnet is missing'];
const DAMAGES: Damage[] = [
  { name: 'nft flush ruleset', commands: [['flush', 'ruleset']], problems: { nat: NO_TABLE, internal: NO_TABLE }, present: { nat: false, internal: false } },
  {
    name: 'nft delete table inet ctnet',
    commands: [['delete', 'table', 'inet', 'ctnet']],
    problems: { nat: NO_TABLE, internal: NO_TABLE },
    present: { nat: false, internal: false },
  },
  {
    // A chain a map element still jumps to cannot be deleted (EBUSY): the elements go first.
    name: "NAT's in-chain deleted, with the dispatch elements that jump to it",
    commands: [
      ['delete', 'element', 'inet', 'ctnet', 'fwd_in4', '{ 10.97.1.0/24 }'],
      ['delete', 'element', 'inet', 'ctnet', 'fwd_in6', '{ fd00:97:1::/64 }'],
      ['flush', 'chain', 'inet', 'ctnet', 'n-ca01-in'],
      ['delete', 'chain', 'inet', 'ctnet', 'n-ca01-in'],
    ],
    problems: {
      nat: [
        'chain "n-ca01-in" is missing from table inet ctnet',
        'element 10.97.1.0/24 : jump n-ca01-in is missing from map "fwd_in4"',
        'element fd00:97:1::/64 : jump n-ca01-in is missing from map "fwd_in6"',
      ],
      internal: [],
    },
    present: { nat: false, internal: true },
  },
  {
    name: "INTERNAL's out-chain deleted",
    commands: [
      ['delete', 'element', 'inet', 'ctnet', 'fwd_out4', '{ 10.97.2.0/24 }'],
      ['flush', 'chain', 'inet', 'ctnet', 'n-cb02-out'],
      ['delete', 'chain', 'inet', 'ctnet', 'n-cb02-out'],
    ],
    problems: {
      nat: [],
      internal: ['chain "n-cb02-out" is missing from table inet ctnet', 'element 10.97.2.0/24 : jump n-cb02-out is missing from map "fwd_out4"'],
    },
    present: { nat: true, internal: true },
  },
  {
    name: "NAT's masquerade dispatch element deleted",
    commands: [['delete', 'element', 'inet', 'ctnet', 'nat4', '{ 10.97.1.0/24 }']],
    problems: { nat: ['element 10.97.1.0/24 : jump n-ca01-nat is missing from map "nat4"'], internal: [] },
    present: { nat: true, internal: true },
  },
  {
    name: "NAT's in-chain flushed",
    commands: [['flush', 'chain', 'inet', 'ctnet', 'n-ca01-in']],
    problems: { nat: ['chain "n-ca01-in" holds 0 rules of "ctnet net ca01", expected 7'], internal: [] },
    present: { nat: true, internal: true },
  },
  {
    name: 'the forward base chain deleted',
    commands: [
      ['flush', 'chain', 'inet', 'ctnet', 'forward'],
      ['delete', 'chain', 'inet', 'ctnet', 'forward'],
    ],
    problems: { nat: ['chain "forward" is missing from table inet ctnet'], internal: ['chain "forward" is missing from table inet ctnet'] },
    present: { nat: true, internal: true },
  },
];

describe('NftFirewallDriver checks and repair (real nft)', { skip }, () => {
  const fw = new NftFirewallDriver();
  let fresh: string[] = [];

  before(async () => {
    await dropCtnetTable();
    await fw.setupNetwork(NAT);
    await fw.setupNetwork(INTERNAL);
    fresh = await tableShape();
  });
  after(async () => {
    fw.close();
    await dropCtnetTable();
  });

  test('after a fresh setup nothing is missing and both networks are present', async () => {
    assert.deepEqual(await fw.checkNetwork(NAT), []);
    assert.deepEqual(await fw.checkNetwork(INTERNAL), []);
    assert.equal(await fw.networkPresent(NAT), true);
    assert.equal(await fw.networkPresent(INTERNAL), true);
  });

  for (const d of DAMAGES) {
    test(`${d.name}: named by checkNetwork, mended by setupNetwork`, async () => {
      await nft(...d.commands);
      if (await hasCtnetTable()) assert.notDeepEqual(await tableShape(), fresh, 'the damage shows in the listing');
      assert.deepEqual(await fw.checkNetwork(NAT), d.problems.nat);
      assert.deepEqual(await fw.checkNetwork(INTERNAL), d.problems.internal);
      assert.equal(await fw.networkPresent(NAT), d.present.nat);
      assert.equal(await fw.networkPresent(INTERNAL), d.present.internal);
      // As the engine mends: only the networks the check found damaged.
      for (const net of [NAT, INTERNAL]) {
        if ((await fw.checkNetwork(net)).length > 0) await fw.setupNetwork(net);
      }
      assert.deepEqual(await fw.checkNetwork(NAT), []);
      assert.deepEqual(await fw.checkNetwork(INTERNAL), []);
      assert.deepEqual(await tableShape(), fresh);
    });
  }

  test('setupNetwork() on a complete table changes nothing (no rule twice)', async () => {
    await fw.setupNetwork(NAT);
    await fw.setupNetwork(INTERNAL);
    assert.deepEqual(await tableShape(), fresh);
  });

  test('networkPresent() over netlink costs well under a millisecond', async (t) => {
    const perProbeUs = async (net: FirewallNetwork, expected: boolean): Promise<number> => {
      for (let i = 0; i < 200; i++) assert.equal(await fw.networkPresent(net), expected);
      const runs = 5000;
      const start = process.hrtime.bigint();
      for (let i = 0; i < runs; i++) await fw.networkPresent(net);
      return Number(process.hrtime.bigint() - start) / 1000 / runs;
    };
    const present = await perProbeUs(NAT, true);
    const absent = await perProbeUs({ ...NAT, id: 'dead' }, false);
    t.diagnostic(`networkPresent: ${present.toFixed(1)} µs per probe (chain there), ${absent.toFixed(1)} µs (ENOENT)`);
    assert.ok(present < 1000 && absent < 1000, `${present} µs and ${absent} µs per probe`);
  });

  describe('published ports', () => {
    let withPorts: string[] = [];

    before(async () => {
      await fw.setupPorts(EP);
      withPorts = await tableShape();
    });

    test('after setupPorts nothing is missing', async () => {
      assert.deepEqual(await fw.checkPorts(EP), []);
    });

    test('one element of a pair deleted: named by checkPorts, mended by setupPorts', async () => {
      await nft(['delete', 'element', 'inet', 'ctnet', 'pub4_any_port', '{ tcp . 18080 }']);
      assert.deepEqual(await fw.checkPorts(EP), ['element tcp . 18080 : 80 is missing from map "pub4_any_port"']);
      await fw.setupPorts(EP);
      assert.deepEqual(await fw.checkPorts(EP), []);
      assert.deepEqual(await tableShape(), withPorts);
    });

    test('the table lost: setupNetwork brings the maps back, setupPorts the elements', async () => {
      await nft(['delete', 'table', 'inet', 'ctnet']);
      assert.deepEqual(await fw.checkPorts(EP), NO_TABLE);
      await fw.setupNetwork(NAT);
      await fw.setupNetwork(INTERNAL);
      assert.deepEqual(await fw.checkPorts(EP), [
        'element 192.0.2.10 . udp . 15353 : 10.97.1.2 is missing from map "pub4_ip_addr"',
        'element 192.0.2.10 . udp . 15353 : 53 is missing from map "pub4_ip_port"',
        'element tcp . 18080 : 10.97.1.2 is missing from map "pub4_any_addr"',
        'element tcp . 18080 : 80 is missing from map "pub4_any_port"',
      ]);
      await fw.setupPorts(EP);
      assert.deepEqual(await fw.checkPorts(EP), []);
      assert.deepEqual(await tableShape(), withPorts);
    });
  });
});
