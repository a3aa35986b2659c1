/**
 * Coexistence with another firewall: with the FORWARD policy at DROP (`iptables -P FORWARD DROP`,
 * as Docker leaves it; iptables-nft makes that an nft base chain `ip filter FORWARD` with policy
 * drop), ctnet's containers still reach each other and the sandbox's "internet", on a network
 * created after the drop and on one created before it (the next connect to it notices). The
 * iptables tool itself is the oracle for the rules (it must still be able to read its chain), ping
 * and TCP for the traffic. Legacy iptables runs in a namespace of its own (coexist-legacy.ts), as
 * its tables, once made, stay with the namespace. Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ctnet, type HostChange } from '../../src/index.js';
import { AGENT_MODE } from '../helpers/agent.js';
import { forwardChain, forwardDrop, reach, REACHES_ALL } from '../helpers/coexist.js';
import { cli, cliOk, ctnetStateDir, newNetns, REPO_ROOT, sandboxSkipReason, sh, tcpServer, withUplink, withUplink6 } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();
const NOTHING = { peerPing: false, peerTcp: false, internetPing: false, internetTcp: false };

/**
 * An engine on a fresh state directory that records what it tells about other firewalls; what a
 * failed test leaves is removed after it.
 */
function engine(t: Parameters<typeof ctnetStateDir>[0]): { ct: Ctnet; changes: HostChange[] } {
  const changes: HostChange[] = [];
  const ct = Ctnet.open({ stateDir: ctnetStateDir(t), onHostChange: (c) => changes.push(c) });
  t.after(() => { ct.close(); });
  return { ct, changes };
}

/** An endpoint's address of `family`, without its prefix. */
function ipOf(ep: { addresses: readonly string[] }, family: 4 | 6 = 4): string {
  const found = ep.addresses.find((a) => a.includes(':') === (family === 6));
  assert.ok(found !== undefined, `an IPv${family} address in ${ep.addresses.join(', ')}`);
  return found.split('/')[0] ?? '';
}

const summary = (changes: readonly HostChange[]): string[] => changes.map((c) => `${c.action} ${c.rules} ${c.firewall} ${c.chain}`);

describe('coexistence with a FORWARD drop policy', { skip }, () => {
  test('a network created after the drop: containers reach each other and the internet; rm leaves the chain as it was', async (t) => {
    const { ct, changes } = engine(t);
    const [c1, c2] = [await newNetns(t), await newNetns(t)];
    const { world, serverIp } = await withUplink(t);
    await tcpServer(t, world, serverIp, 7301);
    await forwardDrop(t, 'iptables');
    const before = await forwardChain('iptables');
    assert.deepEqual(before, ['-P FORWARD DROP']);

    const net = await ct.createNetwork({ name: 'coex1', subnets: ['10.72.1.0/24'] });
    assert.deepEqual(summary(changes), ['add 2 nftables ip filter FORWARD']);
    assert.match(changes[0]?.why ?? '', /drops forwarded packets by default, which would cut network "coex1" off/);
    // iptables-nft still reads its chain: Docker's own iptables calls keep working.
    assert.deepEqual(await forwardChain('iptables'), [
      '-P FORWARD DROP',
      `-A FORWARD -s 10.72.1.0/24 -m comment --comment "ctnet net ${net.id}" -j ACCEPT`,
      `-A FORWARD -d 10.72.1.0/24 -m comment --comment "ctnet net ${net.id}" -j ACCEPT`,
    ]);
    await ct.connect('coex1', c1);
    const peer = ipOf(await ct.connect('coex1', c2));
    assert.equal(changes.length, 1, 'connects find the rules in place');
    await tcpServer(t, c2, peer, 7302);
    assert.deepEqual(await reach(c1, { ip: peer, port: 7302 }, { ip: serverIp, port: 7301 }), REACHES_ALL);

    await ct.disconnect('coex1', c1);
    await ct.disconnect('coex1', c2);
    await ct.removeNetwork('coex1');
    assert.deepEqual(summary(changes.slice(1)), ['remove 2 nftables ip filter FORWARD']);
    assert.deepEqual(await forwardChain('iptables'), before, 'no ctnet rule is left, and the policy is still DROP');
  });

  test('a network made before the drop: its traffic stops, and the next connect to it puts the rules in', async (t) => {
    const { ct, changes } = engine(t);
    const [c1, c2] = [await newNetns(t), await newNetns(t)];
    const { world, serverIp } = await withUplink(t);
    await tcpServer(t, world, serverIp, 7311);
    await ct.createNetwork({ name: 'coex2', subnets: ['10.72.2.0/24'] });
    const peer = ipOf(await ct.connect('coex2', c1));
    await tcpServer(t, c1, peer, 7312);
    assert.deepEqual(changes, [], 'nothing drops yet: nothing to add');

    await forwardDrop(t, 'iptables');
    // The sandbox bridges through br_netfilter (bridge-nf-call-iptables=1): even traffic inside
    // the bridge passes the forward hook, so the drop cuts the containers off from each other too.
    await ct.connect('coex2', c2);
    assert.deepEqual(summary(changes), ['add 2 nftables ip filter FORWARD'], 'the connect saw the drop chain lack the rules');
    const peer2 = ipOf(ct.listEndpoints().find((e) => e.container === c2) ?? { addresses: [] });
    await tcpServer(t, c2, peer2, 7313);
    assert.deepEqual(await reach(c2, { ip: peer, port: 7312 }, { ip: serverIp, port: 7311 }), REACHES_ALL);
    assert.deepEqual(await reach(c1, { ip: peer2, port: 7313 }, { ip: serverIp, port: 7311 }), REACHES_ALL, 'the container that was there before the drop too');

    // Someone deletes ctnet's rules (iptables -F FORWARD): the traffic stops until the next connect.
    await sh('iptables', ['-F', 'FORWARD']);
    assert.deepEqual(await reach(c2, { ip: peer, port: 7312 }, { ip: serverIp, port: 7311 }), NOTHING, 'the drop really bites');
    assert.ok((await ct.checkNetwork('coex2')).some((p) => /ip filter FORWARD \(nftables\) drops forwarded packets by default and holds 0 of the 2/.test(p)));
    const c3 = await newNetns(t);
    await ct.connect('coex2', c3);
    assert.deepEqual(await reach(c2, { ip: peer, port: 7312 }, { ip: serverIp, port: 7311 }), REACHES_ALL);
    assert.deepEqual(await ct.checkNetwork('coex2'), []);

    for (const c of [c1, c2, c3]) await ct.disconnect('coex2', c);
    await ct.removeNetwork('coex2');
    assert.deepEqual(await forwardChain('iptables'), ['-P FORWARD DROP']);
  });

  test('internal networks still reach only each other, on a bridge and over ptp', async (t) => {
    const { ct } = engine(t);
    const { world, serverIp } = await withUplink(t);
    await tcpServer(t, world, serverIp, 7321);
    await forwardDrop(t, 'iptables');
    for (const [name, driver, subnet] of [['coexb', 'bridge', '10.72.3.0/24'], ['coexp', 'ptp', '10.72.4.0/24']] as const) {
      const net = await ct.createNetwork({ name, driver, subnets: [subnet], internal: true });
      const [c1, c2] = [await newNetns(t), await newNetns(t)];
      await ct.connect(name, c1);
      const peer = ipOf(await ct.connect(name, c2));
      await tcpServer(t, c2, peer, 7322);
      assert.ok((await forwardChain('iptables')).includes(`-A FORWARD -s ${subnet} -d ${subnet} -m comment --comment "ctnet net ${net.id}" -j ACCEPT`));
      assert.deepEqual(await reach(c1, { ip: peer, port: 7322 }, { ip: serverIp, port: 7321 }), { ...REACHES_ALL, internetPing: false, internetTcp: false }, `${driver}: each other, not the internet`);
      await ct.disconnect(name, c1);
      await ct.disconnect(name, c2);
      await ct.removeNetwork(name);
    }
    assert.deepEqual(await forwardChain('iptables'), ['-P FORWARD DROP']);
  });

  test('the CLI says what it did to the other firewall, on stderr (--json: one notice object a line)', async (t) => {
    const stateDir = ctnetStateDir(t);
    await forwardDrop(t, 'iptables');
    const added = 'added 2 accept rules to chain ip filter FORWARD (nftables): it drops forwarded packets by default, which would cut network "coexc" off';
    const created = await cli(stateDir, ['network', 'create', 'coexc', '--subnet', '10.72.5.0/24']);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(created.stderr.split('\n').filter((l) => l.includes('accept rule')), [`ctnet: ${added}`]);
    const c = await newNetns(t);
    const quiet = await cli(stateDir, ['--json', 'connect', 'coexc', c]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '', 'the rules are in place: nothing to tell');
    await cliOk(stateDir, ['disconnect', 'coexc', c]);
    await sh('iptables', ['-F', 'FORWARD']);
    if (AGENT_MODE) {
      // An agent puts the rules back as soon as the kernel reports them gone (live repair): the
      // connect finds nothing to mend.
      for (let i = 0; i < 150 && (await forwardChain('iptables')).length < 3; i++) await sleep(10);
      assert.equal((await forwardChain('iptables')).length, 3, 'the agent put the accept rules back');
    }
    const mended = await cli(stateDir, ['--json', 'connect', 'coexc', c]);
    assert.equal(mended.code, 0, mended.stderr);
    assert.deepEqual(AGENT_MODE ? mended.stderr : mended.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), AGENT_MODE ? '' : [{ notice: added }]);
    await cliOk(stateDir, ['disconnect', 'coexc', c]);
    const removed = await cli(stateDir, ['network', 'rm', 'coexc']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stderr, 'ctnet: removed 2 accept rules from chain ip filter FORWARD (nftables): network "coexc" is removed\n');
    assert.deepEqual(await forwardChain('iptables'), ['-P FORWARD DROP']);
  });

  test('IPv6: ip6tables -P FORWARD DROP on a dual-stack network', async (t) => {
    const { ct, changes } = engine(t);
    const [c1, c2] = [await newNetns(t), await newNetns(t)];
    const up6 = await withUplink6(t);
    await tcpServer(t, up6.world, up6.serverIp, 7331);
    await forwardDrop(t, 'iptables');
    await forwardDrop(t, 'ip6tables');
    await ct.createNetwork({ name: 'coex6', subnets: ['10.72.6.0/24', 'fd72:6::/64'] });
    assert.deepEqual(summary(changes).sort(), ['add 2 nftables ip filter FORWARD', 'add 2 nftables ip6 filter FORWARD']);
    await ct.connect('coex6', c1);
    const peer = ipOf(await ct.connect('coex6', c2), 6);
    await tcpServer(t, c2, peer, 7332);
    assert.deepEqual(await reach(c1, { ip: peer, port: 7332 }, { ip: up6.serverIp, port: 7331 }), REACHES_ALL);
    await ct.disconnect('coex6', c1);
    await ct.disconnect('coex6', c2);
    await ct.removeNetwork('coex6');
    assert.deepEqual(await forwardChain('ip6tables'), ['-P FORWARD DROP']);
  });
});

/** Why legacy iptables cannot be tested here, or undefined when it can (its module loads in a fresh namespace). */
async function legacySkipReason(): Promise<string | undefined> {
  if (skip !== undefined) return skip;
  try {
    await sh('unshare', ['--net', 'iptables-legacy', '-P', 'FORWARD', 'DROP']);
    return undefined;
  } catch (err) {
    return `iptables-legacy cannot load its tables in this kernel: ${String(err).split('\n')[0] ?? ''}`;
  }
}

describe('coexistence with legacy iptables', async () => {
  const reason = await legacySkipReason();
  test('iptables-legacy -P FORWARD DROP, in a namespace of its own', { skip: reason }, async (t) => {
    // The legacy tables a test makes stay registered with their namespace, and every ctnet
    // connect there would read them: so the test runs in a network namespace of its own.
    // Without NODE_TEST_CONTEXT, which tells a child of the test runner to report to it instead of running.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
    const child = spawn('unshare', ['--net', process.execPath, '--test', '--test-reporter=tap', 'dist/test/integration/coexist-legacy.js'], { cwd: REPO_ROOT, env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.diagnostic(out.split('\n').filter((l) => /^# (pass|fail|skipped)|^\s*not ok/.test(l)).join('; '));
    assert.equal(code, 0, out);
    assert.match(out, /^# pass [1-9]/m);
    assert.match(out, /^# skipped 0$/m);
  });
});
