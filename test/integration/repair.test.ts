/**
 * Live repair against the real kernel, in the sandbox: `ctnet daemon` started by the test on a
 * temporary state directory, a dual-stack bridge network, two containers and a port published
 * from the first. Each step breaks one thing with the real tool (`nft`, `ip`, `sysctl`), polls the
 * kernel until what ctnet owns is back (the deadline is 1 s; the test fails after
 * `DEADLINE_MS` to allow for a loaded machine, and prints the time it measured), then checks that
 * traffic flows again: container to container and to its gateway, to the "internet" (masqueraded)
 * and from beyond the uplink through the published port. Another firewall's FORWARD policy set
 * to drop gets ctnet's accept rules. A container whose namespace is deleted
 * is released, its address and port taken again by the next one.
 *
 * ```
 *   world 198.51.100.1 (server 203.0.113.10:7610) ── 198.51.100.2 the sandbox = the host
 *                                                        │  published 18600 -> c1:80
 *   c1 10.86.0.2 (server :80) ─┐                         │
 *   c2 10.86.0.3 ──────────────┼─ bridge 10.86.0.1/24, fd00:86::1/64 (network rp, nat)
 *   c3 10.86.0.4 (18601) ──────┘
 * ```
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { type RunningAgent, startAgent } from '../helpers/agent.js';
import { forwardChain, forwardDrop } from '../helpers/coexist.js';
import {
  addrs,
  cliWithEnv,
  hasCtnetTable,
  linkNamed,
  links,
  newNetns,
  peerAddress,
  ping,
  pubElements,
  removeAllCtnetObjects,
  sandboxSkipReason,
  sh,
  stopServers,
  suiteServer,
  tempStateDir,
  withUplink,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();
const NET = 'rp';
const GATEWAY = '10.86.0.1';
const GATEWAY6 = 'fd00:86::1';
const HOST_PORT = 18600;
const WORLD_PORT = 7610;
/** The issue asks for 1 s; a loaded CI machine gets some slack, and the measured time is printed. */
const DEADLINE_MS = 1500;

interface Endpoint {
  id: string;
  container: string;
  addresses: string[];
  hostIfname: string;
}

interface Lab {
  stateDir: string;
  agent: RunningAgent;
  bridge: string;
  bridgeMac: string;
  c1: string;
  c2: string;
  e1: Endpoint;
  e2: Endpoint;
  world: string;
  uplinkIp: string;
  serverIp: string;
  /** The published-port elements as they were after setup. */
  elements: string[];
  /** `ctnet` through the agent. */
  ctnet: (args: readonly string[]) => Promise<string>;
  /** Each breakage and how long it took to be repaired, for the summary. */
  times: { what: string; ms: number; agentMs?: number }[];
}

function sysctl(key: string): string {
  return readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').trim();
}

/** The agent's JSON log lines so far. */
function agentLog(agent: RunningAgent): Record<string, unknown>[] {
  return agent.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function address(ep: Endpoint, family: 4 | 6): string {
  const found = ep.addresses.find((a) => a.includes(':') === (family === 6));
  assert.ok(found !== undefined, `${ep.container} has an IPv${family} address`);
  return found.split('/')[0] ?? '';
}

async function setup(t: TestContext, servers: ChildProcess[]): Promise<Lab> {
  // After-hooks run in the order they are added: the agent (the lab's current one) stops and
  // ctnet's objects go before the state directory, the namespaces and the uplink do.
  let lab: Lab | undefined; // eslint-disable-line prefer-const -- set after the hook is added
  let agent: RunningAgent | undefined;
  let stateDir: string | undefined; // eslint-disable-line prefer-const -- set after the hook is added
  t.after(async () => {
    await stopServers(servers);
    const current = lab?.agent ?? agent;
    if (current !== undefined) assert.equal(await current.stop(), 0, `the agent did not stop cleanly: ${current.log()}`);
    if (stateDir !== undefined) await removeAllCtnetObjects(stateDir);
  });
  stateDir = tempStateDir(t);
  const running = (agent = await startAgent(stateDir, { args: ['--log-json'] }));
  const dir = stateDir;
  const ctnet = async (args: readonly string[]): Promise<string> => {
    const res = await cliWithEnv({ CTNET_STATE_DIR: dir, CTNET_SOCKET: running.socket }, args);
    if (res.code !== 0) throw new Error(`ctnet ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim()}`);
    return res.stdout;
  };
  const { world, uplinkIp, serverIp } = await withUplink(t);
  const c1 = await newNetns(t, 'rc');
  const c2 = await newNetns(t, 'rc');
  await ctnet(['network', 'create', NET, '--subnet', '10.86.0.0/24', '--subnet', 'fd00:86::/64']);
  const e1 = JSON.parse(await ctnet(['--json', 'connect', NET, c1, '-p', `${HOST_PORT}:80`])) as Endpoint;
  const e2 = JSON.parse(await ctnet(['--json', 'connect', NET, c2])) as Endpoint;
  servers.push(await suiteServer(c1, 'tcp', '0.0.0.0', 80), await suiteServer(world, 'tcp', serverIp, WORLD_PORT));
  const bridge = (JSON.parse(await ctnet(['--json', 'network', 'inspect', NET])) as { bridge: string }).bridge;
  const bridgeMac = (await linkNamed(bridge))?.address ?? '';
  lab = { stateDir: dir, agent: running, bridge, bridgeMac, c1, c2, e1, e2, world, uplinkIp, serverIp, elements: await pubElements(), ctnet, times: [] };
  return lab;
}

/**
 * Run `breakIt`, then poll `repaired` until it holds: the ms it took (failing after DEADLINE_MS),
 * and the agent's own figure from its log line (from the kernel's first event to the repair's end).
 */
async function breakAndWait(t: TestContext, l: Lab, what: string, breakIt: () => Promise<unknown>, repaired: () => Promise<boolean>, event = 'repaired'): Promise<number> {
  const logged = agentLog(l.agent).length;
  await breakIt();
  const broken = performance.now();
  while (!(await repaired())) {
    assert.ok(performance.now() - broken < DEADLINE_MS, `${what}: not repaired within ${DEADLINE_MS} ms; agent log:\n${l.agent.log()}`);
    await sleep(5);
  }
  const ms = Math.round(performance.now() - broken);
  // The log line comes when the whole pass is done, a little after what the kernel shows.
  let entry: Record<string, unknown> | undefined;
  for (let i = 0; i < 100 && entry === undefined; i++) {
    entry = agentLog(l.agent).slice(logged).find((e) => e['event'] === event);
    if (entry === undefined) await sleep(10);
  }
  assert.ok(entry !== undefined, `${what}: the agent logged no "${event}" line; log:\n${l.agent.log()}`);
  const agentMs = typeof entry['sinceEventMs'] === 'number' ? entry['sinceEventMs'] : undefined;
  t.diagnostic(`${what}: repaired ${ms} ms after the breakage (agent: ${agentMs ?? '?'} ms from the first event): ${String(entry['msg'])}`);
  l.times.push({ what, ms, ...(agentMs === undefined ? {} : { agentMs }) });
  return ms;
}

/** What the containers need, checked with ping and TCP. */
async function assertTraffic(l: Lab, options: { ipv6?: boolean } = {}): Promise<void> {
  assert.ok(await ping(l.c1, address(l.e2, 4)), 'c1 reaches c2');
  assert.ok(await ping(l.c2, GATEWAY), 'c2 reaches its gateway');
  if (options.ipv6 === true) {
    assert.ok(await ping(l.c1, address(l.e2, 6)), 'c1 reaches c2 over IPv6');
    assert.ok(await ping(l.c2, GATEWAY6), 'c2 reaches its IPv6 gateway');
  }
  assert.equal(await peerAddress(l.c2, 'tcp', l.serverIp, WORLD_PORT), l.uplinkIp, 'c2 reaches the internet, masqueraded');
  assert.equal(await peerAddress(l.world, 'tcp', l.uplinkIp, HOST_PORT), '198.51.100.1', 'the published port answers from beyond the uplink');
}

/** The bridge as ctnet made it: up, its MAC, both gateways, both host ends its ports. */
async function bridgeWhole(l: Lab): Promise<boolean> {
  const all = await links();
  const bridge = all.find((x) => x.ifname === l.bridge);
  if (bridge === undefined || !bridge.flags.includes('UP') || bridge.address !== l.bridgeMac) return false;
  if (![l.e1, l.e2].every((ep) => all.find((x) => x.ifname === ep.hostIfname)?.master === l.bridge)) return false;
  const local = (await addrs()).find((a) => a.ifname === l.bridge)?.addr_info.map((a) => `${a.local}/${a.prefixlen}`) ?? [];
  return local.includes(`${GATEWAY}/24`) && local.includes(`${GATEWAY6}/64`);
}

async function firewallWhole(l: Lab): Promise<boolean> {
  return (await hasCtnetTable()) && JSON.stringify(await pubElements()) === JSON.stringify(l.elements);
}

/** Rows the state database still holds for an endpoint. */
function rowsOf(stateDir: string, id: string): number {
  const db = new Database(join(stateDir, 'ctnet.db'), { readonly: true });
  try {
    const count = (sql: string): number => (db.prepare(sql).get(id) as { n: number }).n;
    return (
      count('SELECT count(*) AS n FROM endpoints WHERE id = ?') +
      count('SELECT count(*) AS n FROM allocations WHERE endpoint_id = ?') +
      count('SELECT count(*) AS n FROM published_ports WHERE endpoint_id = ?')
    );
  } finally {
    db.close();
  }
}

test('live repair: what others break of a network is back within a second, and traffic flows again', { skip }, async (t) => {
  const servers: ChildProcess[] = [];
  const l = await setup(t, servers);
  assert.ok(await bridgeWhole(l));
  await assertTraffic(l, { ipv6: true });

  await t.test('nft flush ruleset', async (t) => {
    await breakAndWait(t, l, 'nft flush ruleset', () => sh('nft', ['flush', 'ruleset']), () => firewallWhole(l));
    await assertTraffic(l);
  });

  await t.test('nft delete table inet ctnet', async (t) => {
    await breakAndWait(t, l, 'nft delete table inet ctnet', () => sh('nft', ['delete', 'table', 'inet', 'ctnet']), () => firewallWhole(l));
    await assertTraffic(l);
  });

  await t.test('ip link del BRIDGE: made again with its MAC and gateways, the host ends enslaved again', async (t) => {
    await breakAndWait(t, l, 'ip link del BRIDGE', () => sh('ip', ['link', 'del', l.bridge]), () => bridgeWhole(l));
    assert.equal(sysctl(`net.ipv4.conf.${l.bridge}.route_localnet`), '1', 'the bridge sysctls are back');
    await assertTraffic(l, { ipv6: true });
  });

  await t.test('ip link set BRIDGE down', async (t) => {
    await breakAndWait(t, l, 'ip link set BRIDGE down', () => sh('ip', ['link', 'set', l.bridge, 'down']), () => bridgeWhole(l));
    await assertTraffic(l, { ipv6: true });
  });

  await t.test('ip addr del GATEWAY', async (t) => {
    await breakAndWait(t, l, 'ip addr del GATEWAY', () => sh('ip', ['addr', 'del', `${GATEWAY}/24`, 'dev', l.bridge]), () => bridgeWhole(l));
    await assertTraffic(l);
  });

  await t.test('sysctl net.ipv4.ip_forward=0', async (t) => {
    await breakAndWait(t, l, 'sysctl net.ipv4.ip_forward=0', () => sh('sysctl', ['-qw', 'net.ipv4.ip_forward=0']), () => Promise.resolve(sysctl('net.ipv4.ip_forward') === '1'));
    await assertTraffic(l);
  });

  await t.test('sysctl net.ipv6.conf.all.forwarding=0 (dual-stack network)', async (t) => {
    const key = 'net.ipv6.conf.all.forwarding';
    await breakAndWait(t, l, `sysctl ${key}=0`, () => sh('sysctl', ['-qw', `${key}=0`]), () => Promise.resolve(sysctl(key) === '1'));
    await assertTraffic(l, { ipv6: true });
  });

  await t.test('iptables -P FORWARD DROP under the network: its accept rules go in', async (t) => {
    const accepts = async (): Promise<boolean> => (await forwardChain('iptables')).filter((r) => r.includes(`-j ACCEPT`)).length === 2;
    await breakAndWait(t, l, 'iptables -P FORWARD DROP', () => forwardDrop(t, 'iptables'), accepts);
    await assertTraffic(l);
  });

  await t.test('ip netns del of a connected container: released; its address and port are taken again', async (t) => {
    const c3 = await newNetns(t, 'rc');
    const e3 = JSON.parse(await l.ctnet(['--json', 'connect', NET, c3, '-p', '18601:80'])) as Endpoint;
    assert.ok(rowsOf(l.stateDir, e3.id) > 0);
    await breakAndWait(t, l, 'ip netns del CONTAINER', () => sh('ip', ['netns', 'del', c3]), () => Promise.resolve(rowsOf(l.stateDir, e3.id) === 0), 'released');
    assert.ok(!(await pubElements()).some((e) => e.includes(`ctnet ep ${e3.id}`)), 'its published port is gone');
    assert.equal(await linkNamed(e3.hostIfname), undefined);
    const c4 = await newNetns(t, 'rc');
    const ip = address(e3, 4);
    const e4 = JSON.parse(await l.ctnet(['--json', 'connect', NET, c4, '--ip', ip, '-p', '18601:80'])) as Endpoint;
    assert.equal(address(e4, 4), ip, 'the address is handed out again');
    servers.push(await suiteServer(c4, 'tcp', '0.0.0.0', 80));
    assert.equal(await peerAddress(l.world, 'tcp', l.uplinkIp, 18601), '198.51.100.1', 'the port is published for the new container');
    await l.ctnet(['disconnect', NET, c4]);
    await assertTraffic(l);
  });

  await t.test('network rm and disconnect by another process while the agent watches: nothing is made again', async (t) => {
    const c5 = await newNetns(t, 'rc');
    // In a process of its own, beside the agent: the agent hears of it from the kernel only.
    const own = async (args: readonly string[]): Promise<void> => {
      const res = await cliWithEnv({ CTNET_STATE_DIR: l.stateDir, CTNET_SOCKET: join(l.stateDir, 'nobody.sock') }, args);
      assert.equal(res.code, 0, res.stderr);
    };
    const logged = agentLog(l.agent).length;
    for (let i = 0; i < 3; i++) {
      await own(['network', 'create', 'rq', '--subnet', '10.87.0.0/24']);
      await own(['connect', 'rq', c5, '-p', '18602:80']);
      await own(['disconnect', 'rq', c5]);
      await own(['network', 'rm', 'rq']);
    }
    await sleep(500);
    const repairs = agentLog(l.agent).slice(logged).filter((e) => ['repaired', 'released', 'repair-failed'].includes(String(e['event'])));
    assert.deepEqual(repairs, [], 'the agent repaired nothing');
    assert.equal(await linkNamed('ct-rq'), undefined, 'the bridge stays gone');
    assert.ok(!(await pubElements()).some((e) => e.includes('18602')), 'the port stays unpublished');
    assert.ok(await bridgeWhole(l) && (await firewallWhole(l)));
  });

  await t.test('what broke while no agent ran is repaired when it starts', async (t) => {
    // One repair per breakage: the agent never repaired what its own changes touched.
    const lines = agentLog(l.agent).filter((e) => ['repaired', 'released', 'repair-failed', 'repair-fought'].includes(String(e['event'])));
    assert.equal(lines.length, l.times.length, lines.map((e) => String(e['msg'])).join('\n'));
    assert.equal(await l.agent.stop(), 0);
    await sh('nft', ['delete', 'table', 'inet', 'ctnet']);
    await sh('ip', ['link', 'set', l.bridge, 'down']);
    const started = performance.now();
    l.agent = await startAgent(l.stateDir, { args: ['--log-json'] });
    for (;;) {
      if ((await bridgeWhole(l)) && (await firewallWhole(l))) break;
      assert.ok(performance.now() - started < 5000, `not repaired 5 s after the agent started; log:\n${l.agent.log()}`);
      await sleep(10);
    }
    t.diagnostic(`repaired ${Math.round(performance.now() - started)} ms after the agent was started (start-up included)`);
    await assertTraffic(l);
  });

  await t.test('30 breakages in a row: a bounded number of repairs, and the network whole afterwards', async (t) => {
    const logged = agentLog(l.agent).length;
    await sh('sh', ['-c', `for i in $(seq 30); do ip link set ${l.bridge} down; nft delete table inet ctnet 2>/dev/null; done; true`]);
    const started = performance.now();
    while (!((await bridgeWhole(l)) && (await firewallWhole(l)))) {
      assert.ok(performance.now() - started < 5000, `not whole 5 s after the last breakage; log:\n${l.agent.log()}`);
      await sleep(10);
    }
    await sleep(300);
    const repairs = agentLog(l.agent).slice(logged).filter((e) => e['event'] === 'repaired' || e['event'] === 'repair-failed').length;
    t.diagnostic(`30 breakages in a row: ${repairs} repairs (those broken again meanwhile included), whole ${Math.round(performance.now() - started - 300)} ms after the last`);
    assert.ok(repairs >= 1 && repairs <= 15, `${repairs} repairs`);
    await assertTraffic(l);
  });

  const times = l.times.map((x) => `${x.what} ${x.ms} ms`).join(', ');
  t.diagnostic(`live repair: ${l.times.length} breakages repaired, max ${Math.max(...l.times.map((x) => x.ms))} ms: ${times}`);
});
