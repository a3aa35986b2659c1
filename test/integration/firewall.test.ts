/**
 * The nftables driver against the real kernel. Runs only as root inside scripts/sandbox.sh (a
 * private network namespace), because it creates nftables tables, namespaces and veths.
 * Assertions read the kernel through `nft -j` and real TCP, never through the driver's own reader.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { parseCidr } from '../../src/inet/cidr.js';
import type { FirewallNetwork } from '../../src/firewall/driver.js';
import { NftFirewallDriver } from '../../src/firewall/nft/nft-driver.js';
import { dropCtnetTable, peerAddress, sh, stopServers, suiteServer } from '../helpers/sandbox.js';

const inSandbox = process.env['CTNET_SANDBOX'] === '1' && process.getuid?.() === 0;
const skip = inSandbox ? false : 'needs root inside scripts/sandbox.sh (CTNET_SANDBOX=1): it changes nftables and links';

type Json = Record<string, unknown>;

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What the kernel holds in `inet ctnet`, read with nft directly. */
interface Observed {
  chains: Map<string, Json>;
  /** Rule comments per chain, in order. */
  rules: Map<string, (string | undefined)[]>;
  /** `set key -> target` (map) or `set key` (set), e.g. `fwd_in4 10.99.1.0/24 -> n-a1-in`. */
  elements: string[];
}

async function observe(): Promise<Observed | undefined> {
  let out: string;
  try {
    out = await sh('nft', ['-j', 'list', 'table', 'inet', 'ctnet']);
  } catch {
    return undefined;
  }
  const doc: unknown = JSON.parse(out);
  assert.ok(isJson(doc) && Array.isArray(doc['nftables']));
  const seen: Observed = { chains: new Map(), rules: new Map(), elements: [] };
  const keyText = (k: unknown): string => {
    if (isJson(k) && isJson(k['elem'])) return keyText(k['elem']['val']);
    if (isJson(k) && isJson(k['prefix'])) return `${String(k['prefix']['addr'])}/${String(k['prefix']['len'])}`;
    return JSON.stringify(k);
  };
  for (const item of doc['nftables'] as unknown[]) {
    if (!isJson(item)) continue;
    const chain = item['chain'];
    if (isJson(chain)) seen.chains.set(String(chain['name']), chain);
    const rule = item['rule'];
    if (isJson(rule)) {
      const list = seen.rules.get(String(rule['chain'])) ?? [];
      list.push(typeof rule['comment'] === 'string' ? rule['comment'] : undefined);
      seen.rules.set(String(rule['chain']), list);
    }
    const set = item['set'] ?? item['map'];
    if (isJson(set) && Array.isArray(set['elem'])) {
      for (const e of set['elem'] as unknown[]) {
        if (Array.isArray(e)) {
          const verdict: unknown = e[1];
          const target = isJson(verdict) && isJson(verdict['jump']) ? String(verdict['jump']['target']) : '?';
          seen.elements.push(`${String(set['name'])} ${keyText(e[0])} -> ${target}`);
        } else {
          seen.elements.push(`${String(set['name'])} ${keyText(e)}`);
        }
      }
    }
  }
  seen.elements.sort();
  return seen;
}

async function tableNames(): Promise<string[]> {
  const doc: unknown = JSON.parse(await sh('nft', ['-j', 'list', 'tables']));
  assert.ok(isJson(doc) && Array.isArray(doc['nftables']));
  return (doc['nftables'] as unknown[]).flatMap((i) =>
    isJson(i) && isJson(i['table']) ? [`${String(i['table']['family'])} ${String(i['table']['name'])}`] : [],
  );
}

const NAT: FirewallNetwork = {
  id: 'a1',
  name: 'fw-nat',
  mode: 'nat',
  subnets: [
    parseCidr('10.99.1.0/24'),
    parseCidr('fd00:99:1::/64'),
  ],
};
const INTERNAL: FirewallNetwork = { id: 'b2', name: 'fw-internal', mode: 'internal', subnets: [parseCidr('10.99.2.0/24')] };
const ROUTED: FirewallNetwork = { id: 'c3', name: 'fw-routed', mode: 'routed', subnets: [parseCidr('10.99.3.0/24')] };

describe('NftFirewallDriver (real nft)', { skip }, () => {
  const fw = new NftFirewallDriver();

  before(async () => {
    // The sandbox is private to this run; a table left by an earlier test file would skew the counts.
    await dropCtnetTable();
  });
  after(async () => {
    await dropCtnetTable();
  });

  test('setupNetwork() creates base chains, network chains, rules and elements', async () => {
    await fw.setupNetwork(NAT);
    await fw.setupNetwork(INTERNAL);
    const seen = await observe();
    assert.ok(seen !== undefined, 'table inet ctnet exists');

    assert.deepEqual(
      [...seen.chains.keys()].sort(),
      ['forward', 'n-a1-in', 'n-a1-nat', 'n-a1-out', 'n-b2-in', 'n-b2-out', 'output', 'postrouting', 'prerouting'],
    );
    const forward = seen.chains.get('forward');
    assert.deepEqual(
      [forward?.['type'], forward?.['hook'], forward?.['prio'], forward?.['policy']],
      ['filter', 'forward', 0, 'accept'],
    );
    const post = seen.chains.get('postrouting');
    assert.deepEqual([post?.['type'], post?.['hook'], post?.['prio'], post?.['policy']], ['nat', 'postrouting', 100, 'accept']);
    for (const hook of ['prerouting', 'output']) {
      const dnat = seen.chains.get(hook);
      assert.deepEqual([dnat?.['type'], dnat?.['hook'], dnat?.['prio'], dnat?.['policy']], ['nat', hook, -100, 'accept']);
    }

    assert.deepEqual(seen.elements, [
      'fwd_in4 10.99.1.0/24 -> n-a1-in',
      'fwd_in4 10.99.2.0/24 -> n-b2-in',
      'fwd_in6 fd00:99:1::/64 -> n-a1-in',
      'fwd_out4 10.99.1.0/24 -> n-a1-out',
      'fwd_out4 10.99.2.0/24 -> n-b2-out',
      'fwd_out6 fd00:99:1::/64 -> n-a1-out',
      'nat4 10.99.1.0/24 -> n-a1-nat',
      'nat6 fd00:99:1::/64 -> n-a1-nat',
      'subnets4 10.99.1.0/24',
      'subnets4 10.99.2.0/24',
      'subnets6 fd00:99:1::/64',
    ]);

    // Every rule names its owner.
    for (const [chain, comments] of seen.rules) {
      const owner = chain.startsWith('n-a1-') ? 'ctnet net a1' : chain.startsWith('n-b2-') ? 'ctnet net b2' : 'ctnet base';
      assert.ok(comments.every((c) => c === owner), `rules of ${chain} carry "${owner}": ${JSON.stringify(comments)}`);
    }
    assert.equal(seen.rules.get('forward')?.length, 4);
    assert.equal(seen.rules.get('postrouting')?.length, 3);
    assert.equal(seen.rules.get('prerouting')?.length, 4);
    assert.equal(seen.rules.get('output')?.length, 4);
    assert.equal(seen.rules.get('n-a1-in')?.length, 7);
    assert.equal(seen.rules.get('n-b2-out')?.length, 1);
  });

  test('setupNetwork() again changes nothing', async () => {
    const before = await observe();
    await fw.setupNetwork(NAT);
    const afterwards = await observe();
    assert.deepEqual(afterwards?.elements, before?.elements);
    assert.deepEqual(afterwards?.rules, before?.rules);
  });

  test('teardownNetwork() removes only that network, and twice is fine', async () => {
    await fw.teardownNetwork(NAT);
    const seen = await observe();
    assert.ok(seen !== undefined);
    assert.deepEqual([...seen.chains.keys()].sort(), ['forward', 'n-b2-in', 'n-b2-out', 'output', 'postrouting', 'prerouting']);
    assert.deepEqual(seen.elements, [
      'fwd_in4 10.99.2.0/24 -> n-b2-in',
      'fwd_out4 10.99.2.0/24 -> n-b2-out',
      'subnets4 10.99.2.0/24',
    ]);
    assert.equal(seen.rules.get('n-b2-in')?.length, 3);
    await fw.teardownNetwork(NAT);
    assert.deepEqual((await observe())?.elements, seen.elements);
  });

  test('teardownNetwork() of the last network leaves no ctnet table, and again is fine', async () => {
    await fw.teardownNetwork(INTERNAL);
    assert.equal((await tableNames()).includes('inet ctnet'), false);
    await fw.teardownNetwork(INTERNAL);
    await fw.teardownNetwork(NAT);
    assert.equal((await tableNames()).includes('inet ctnet'), false);
  });
});

// Every namespace runs a server on its own address.
const PORT = 8080;
const tcpFrom = (ns: string, host: string): Promise<string> => peerAddress(ns, 'tcp', host, PORT);

interface Container {
  ns: string;
  hostIf: string;
  gateway: string;
  addr: string;
}

// "Containers" on three ctnet networks and an uplink namespace standing for the internet. The
// sandbox namespace is the host and routes between them (the ptp model: one veth per container).
const CT_NAT: Container = { ns: 'fwt-nat', hostIf: 'fwt-nat-h', gateway: '10.99.1.1', addr: '10.99.1.2' };
const CT_INTERNAL: Container = { ns: 'fwt-int', hostIf: 'fwt-int-h', gateway: '10.99.2.1', addr: '10.99.2.2' };
const CT_ROUTED: Container = { ns: 'fwt-rtd', hostIf: 'fwt-rtd-h', gateway: '10.99.3.1', addr: '10.99.3.2' };
const UPLINK: Container = { ns: 'fwt-up', hostIf: 'fwt-up-h', gateway: '198.51.100.1', addr: '198.51.100.2' };
const ALL = [CT_NAT, CT_INTERNAL, CT_ROUTED, UPLINK];

async function addNamespace(c: Container, prefixLen: number): Promise<void> {
  await sh('ip', ['netns', 'add', c.ns]);
  await sh('ip', ['link', 'add', c.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.ns]);
  await sh('ip', ['addr', 'add', `${c.gateway}/${prefixLen}`, 'dev', c.hostIf]);
  await sh('ip', ['link', 'set', c.hostIf, 'up']);
  const inNs = (args: string[]): Promise<string> => sh('ip', ['-n', c.ns, ...args]);
  await inNs(['link', 'set', 'lo', 'up']);
  await inNs(['addr', 'add', `${c.addr}/${prefixLen}`, 'dev', 'eth0']);
  await inNs(['link', 'set', 'eth0', 'up']);
}

describe('NftFirewallDriver traffic (real kernel)', { skip }, () => {
  const fw = new NftFirewallDriver();
  const servers: ChildProcess[] = [];

  before(async () => {
    await dropCtnetTable();
    for (const c of [CT_NAT, CT_INTERNAL, CT_ROUTED]) {
      await addNamespace(c, 24);
      await sh('ip', ['-n', c.ns, 'route', 'add', 'default', 'via', c.gateway]);
    }
    await addNamespace(UPLINK, 24);
    // The "internet" can route to container addresses, so only the firewall decides what passes,
    // and a reply to an un-NATed source would come back: masquerade is what the server observes.
    await sh('ip', ['-n', UPLINK.ns, 'route', 'add', '10.99.0.0/16', 'via', UPLINK.gateway]);
    // Per network namespace: this is the sandbox's own setting, not the host's.
    await sh('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    for (const c of ALL) servers.push(await suiteServer(c.ns, 'tcp', c.addr, PORT));
    await fw.setupNetwork(NAT);
    await fw.setupNetwork(INTERNAL);
    await fw.setupNetwork(ROUTED);
  });

  after(async () => {
    await stopServers(servers);
    // The host ends first: the kernel removes a veth whose peer's namespace goes only later.
    for (const c of ALL) await sh('ip', ['link', 'del', c.hostIf]).catch(() => '');
    for (const c of ALL) await sh('ip', ['netns', 'del', c.ns]).catch(() => '');
    await dropCtnetTable();
  });

  test('nat: the server sees the router uplink address (masquerade)', async () => {
    assert.equal(await tcpFrom(CT_NAT.ns, UPLINK.addr), UPLINK.gateway);
  });

  test('nat: a new connection from outside is dropped', async () => {
    assert.equal(await tcpFrom(UPLINK.ns, CT_NAT.addr), 'TIMEOUT');
  });

  test('routed: the server sees the container address, and inbound is allowed', async () => {
    assert.equal(await tcpFrom(CT_ROUTED.ns, UPLINK.addr), CT_ROUTED.addr);
    assert.equal(await tcpFrom(UPLINK.ns, CT_ROUTED.addr), UPLINK.addr);
  });

  test('internal: nothing is forwarded out of the network', async () => {
    assert.equal(await tcpFrom(CT_INTERNAL.ns, UPLINK.addr), 'TIMEOUT');
  });

  test('networks do not reach each other', async () => {
    assert.equal(await tcpFrom(CT_NAT.ns, CT_ROUTED.addr), 'TIMEOUT');
    assert.equal(await tcpFrom(CT_ROUTED.ns, CT_INTERNAL.addr), 'TIMEOUT');
  });

  test('after teardown nothing is translated or filtered any more', async () => {
    await fw.teardownNetwork(NAT);
    await fw.teardownNetwork(INTERNAL);
    await fw.teardownNetwork(ROUTED);
    assert.equal((await tableNames()).includes('inet ctnet'), false);
    assert.equal(await tcpFrom(CT_NAT.ns, UPLINK.addr), CT_NAT.addr);
    assert.equal(await tcpFrom(CT_NAT.ns, CT_ROUTED.addr), CT_NAT.addr);
  });
});
