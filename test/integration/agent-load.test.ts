/**
 * The agent under load, as runtimes load it:
 *  - 100 CNI ADDs started at once through the native client: every one succeeds with its own
 *    address, which the kernel has in its container; then 100 DELs at once leave nothing behind.
 *    The burst's wall time is printed (the benchmark compares speeds; this test checks results);
 *  - 1000 connect/disconnect cycles through the agent's API: links, firewall rules and rows are
 *    back to where they started, and the agent's resident memory does not grow with the cycles;
 *  - the agent killed with SIGKILL while ADDs are in flight, at growing delays: after `ctnet gc`
 *    every endpoint left works, no address is held twice, no host end is without its record, and
 *    a new agent on the same socket serves again.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { AgentClient } from '../../src/client/agent-client.js';
import { type RunningAgent, startAgent } from '../helpers/agent.js';
import { ctnetContainerRows } from '../helpers/podman.js';
import { cli, ctnetStateDir, NATIVE_CNI_CLIENT, newNetns, ping, pluginExec, sandboxSkipReason, sh } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

async function agentFor(t: TestContext, stateDir: string): Promise<RunningAgent> {
  const agent = await startAgent(stateDir);
  t.after(async () => {
    assert.equal(await agent.stop(), 0, `the agent did not stop cleanly: ${agent.log()}`);
  });
  return agent;
}

/** The agent's resident set, in KiB. */
function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1]);
}

/** What a leak would grow: links, nft rules (with their handles), the database's rows. */
async function footprint(stateDir: string): Promise<{ links: number; rules: number; rows: ReturnType<typeof ctnetContainerRows> }> {
  const links = (await sh('ip', ['-o', 'link', 'show'])).trim().split('\n').length;
  const rules = (await sh('nft', ['-a', 'list', 'ruleset'])).split('\n').filter((l) => /# handle \d+$/.test(l) && !/^\s*(table|chain|set|map)\b/.test(l)).length;
  return { links, rules, rows: ctnetContainerRows(stateDir) };
}

test('100 CNI ADDs at once through the native client and the agent, then 100 DELs at once', { skip, timeout: 180_000 }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const agent = await agentFor(t, stateDir);
  const namespaces = await Promise.all(Array.from({ length: 100 }, () => newNetns(t, 'ld')));
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'burst', type: 'ctnet', subnets: ['10.86.0.0/16'], stateDir });
  const env = (command: string, i: number): Record<string, string> => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: `burst-${i}`,
    CNI_NETNS: `/run/netns/${namespaces[i] ?? ''}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    CTNET_SOCKET: agent.socket,
  });
  // The network is made by a first ADD of its own, as by a runtime's first container.
  const first = await pluginExec(NATIVE_CNI_CLIENT, [], env('ADD', 0), conf);
  assert.equal(first.code, 0, first.stdout);

  const started = performance.now();
  const adds = await Promise.all(Array.from({ length: 99 }, (_, k) => pluginExec(NATIVE_CNI_CLIENT, [], env('ADD', k + 1), conf)));
  const addWall = performance.now() - started;
  const failed = adds.filter((a) => a.code !== 0);
  assert.deepEqual(failed.map((a) => a.stdout), []);
  const ips = [first, ...adds].map((a) => (JSON.parse(a.stdout) as { ips: { address: string }[] }).ips[0]?.address ?? '');
  assert.equal(new Set(ips).size, 100, 'every ADD has its own address');
  // The agent really served them, and each container has its address in the kernel.
  assert.equal((agent.log().match(/connected to network "burst"/g) ?? []).length, 100);
  for (const [i, ns] of namespaces.entries()) {
    const shown = await sh('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.ok(shown.includes(` ${ips[i] ?? '?'} `), `${ns}: ${shown}`);
  }

  const delStarted = performance.now();
  const dels = await Promise.all(namespaces.map((_, i) => pluginExec(NATIVE_CNI_CLIENT, [], env('DEL', i), conf)));
  const delWall = performance.now() - delStarted;
  assert.deepEqual(dels.filter((d) => d.code !== 0).map((d) => d.stdout), []);
  assert.deepEqual(ctnetContainerRows(stateDir), { endpoints: 0, allocations: 0, ports: 0 });
  const veths = (await sh('ip', ['-o', 'link', 'show', 'type', 'veth'])).trim();
  assert.equal(veths, '', 'no host end is left');
  t.diagnostic(`99 ADDs at once: ${addWall.toFixed(0)} ms wall; 100 DELs at once: ${delWall.toFixed(0)} ms wall`);
});

test('1000 connect/disconnect cycles through the agent: nothing grows, the agent’s memory stays flat', { skip, timeout: 300_000 }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const agent = await agentFor(t, stateDir);
  const client = new AgentClient({ socketPath: agent.socket, stateDir });
  await client.createNetwork({ name: 'cycles', subnets: ['10.87.0.0/24'] });
  const ns = await newNetns(t, 'cy');
  const cycle = async (i: number): Promise<void> => {
    await client.connect('cycles', ns, { ...(i % 2 === 0 ? { ports: [`${20000 + (i % 100)}:80`] } : {}) });
    await client.disconnect('cycles', ns);
  };
  // A warm-up first: the agent's first calls compile code, fill caches and grow V8's young
  // generation, which is not a leak.
  for (let i = 0; i < 300; i++) await cycle(i);
  const before = { ...(await footprint(stateDir)), rss: rssKiB(agent.pid) };
  const started = performance.now();
  for (let i = 0; i < 1000; i++) await cycle(i);
  const ms = performance.now() - started;
  const after = { ...(await footprint(stateDir)), rss: rssKiB(agent.pid) };
  t.diagnostic(`1000 cycles in ${(ms / 1000).toFixed(1)} s; agent RSS ${before.rss} KiB -> ${after.rss} KiB`);
  assert.deepEqual({ links: after.links, rules: after.rules, rows: after.rows }, { links: before.links, rules: before.rules, rows: before.rows });
  // RSS moves in steps as V8 resizes its young generation (up to 32 MiB) and compiles hot code,
  // so only a leak of tens of KiB per cycle is told apart from that here.
  assert.ok(after.rss - before.rss < 32 * 1024, `agent RSS grew by ${after.rss - before.rss} KiB over 1000 cycles`);
  await client.removeNetwork('cycles');
});

test('SIGKILL of the agent with ADDs in flight, at growing delays, then ctnet gc: nothing leaks, everything left works', { skip, timeout: 240_000 }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'killed', type: 'ctnet', subnets: ['10.88.0.0/24'], stateDir });
  let socket = '';
  const add = (ns: string): Promise<{ code: number; stdout: string }> =>
    pluginExec(NATIVE_CNI_CLIENT, [], { CNI_COMMAND: 'ADD', CNI_CONTAINERID: ns, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CTNET_SOCKET: socket }, conf);
  const tally = { answered: 0, cut: 0, kills: 0, collectedAtStart: 0 };
  // Each new agent collects at start what the killed one left half-made.
  const collected = (agent: RunningAgent): number => (agent.log().match(/ gc: /g) ?? []).length;
  for (const delay of [0, 15, 30, 60, 100, 160, 250]) {
    const agent = await startAgent(stateDir);
    tally.collectedAtStart += collected(agent);
    socket = agent.socket;
    const namespaces = await Promise.all(Array.from({ length: 8 }, () => newNetns(t, 'kl')));
    const calls = namespaces.map(add);
    await new Promise((r) => setTimeout(r, delay));
    assert.equal(await agent.stop('SIGKILL'), 'SIGKILL');
    tally.kills++;
    for (const r of await Promise.all(calls)) {
      if (r.code === 0) tally.answered++;
      // After the request went out the client never falls back: the agent's death is code 11.
      else {
        assert.equal((JSON.parse(r.stdout) as { code: number }).code, 11, r.stdout);
        tally.cut++;
      }
    }
  }
  const gc = await cli(stateDir, ['gc']);
  assert.equal(gc.code, 0, gc.stderr);

  // What is recorded is what the kernel has: each ready endpoint has its host end and its address,
  // and reaches the gateway; no host end is left without a record; no address is held twice.
  const ls = await cli(stateDir, ['--json', 'ls']);
  const endpoints = JSON.parse(ls.stdout) as { container: string; netns: string; addresses: string[]; hostIfname: string; status: string }[];
  assert.deepEqual(endpoints.filter((e) => e.status !== 'ready'), [], 'gc left a half-made endpoint');
  const addresses = endpoints.flatMap((e) => e.addresses);
  assert.equal(new Set(addresses).size, addresses.length, 'an address is held twice');
  const veths = (await sh('ip', ['-o', 'link', 'show', 'type', 'veth'])).trim().split('\n').filter((l) => l !== '').map((l) => /^\d+: ([^@:]+)/.exec(l)?.[1] ?? '');
  assert.deepEqual(veths.sort(), endpoints.map((e) => e.hostIfname).sort());
  for (const e of endpoints) assert.ok(await ping(e.netns.replace('/run/netns/', ''), '10.88.0.1'), `${e.container} does not reach its gateway`);

  // A new agent replaces the dead one's socket, and serves.
  const next = await startAgent(stateDir, { socket });
  t.after(() => next.stop());
  tally.collectedAtStart += collected(next);
  const again = await add(await newNetns(t, 'kl'));
  assert.equal(again.code, 0, again.stdout);
  t.diagnostic(`${tally.kills} kills with 8 ADDs in flight each: ${tally.answered} answered, ${tally.cut} cut (CNI code 11); ${tally.collectedAtStart} collected by the next agent at its start, ctnet gc: ${gc.stdout.trim().split('\n').filter((l) => l !== 'nothing to collect').length} action(s); then ${endpoints.length} endpoints, all working, 0 leaked`);
});
