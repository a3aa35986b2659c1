/**
 * The agent under load, as runtimes load it:
 *  - 100 CNI ADDs started at once through the native client: every one succeeds with its own
 *    address, which the kernel has in its container; then 100 DELs at once leave nothing behind.
 *    The burst's wall time is printed (the benchmark compares speeds; this test checks results);
 *  - 1000 connect/disconnect cycles through the agent's API: links, firewall rules and rows are
 *    back to where they started, and the agent's resident memory does not grow with the cycles.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { AgentClient } from '../../src/client/agent-client.js';
import { type RunningAgent, startAgent } from '../helpers/agent.js';
import { ctnetContainerRows } from '../helpers/podman.js';
import { ctnetStateDir, NATIVE_CNI_CLIENT, newNetns, pluginExec, sandboxSkipReason, sh } from '../helpers/sandbox.js';

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
