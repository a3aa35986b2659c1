/**
 * `ctnet netns` and `ctnet exec` against iproute2's `ip netns` (they share /run/netns), and the
 * other two ways to name a container: a namespace path and `pid:N`. Everything goes through the
 * real `ctnet` executable. Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import type { Endpoint } from '../../src/index.js';
import {
  cli,
  cliOk,
  ctnetLinks,
  hasCtnetTable,
  hostFootprint,
  type IpAddrInfo,
  ipJson,
  type IpLink,
  netnsHolder,
  newNetns,
  ping,
  sandboxSkipReason,
  sh,
  tempStateDir,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

async function ipNetnsList(): Promise<string[]> {
  // `ip netns list` prints `NAME` or `NAME (id: N)`.
  return (await sh('ip', ['netns', 'list']))
    .split('\n')
    .map((l) => l.trim().split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

let counter = 0;

/** A namespace name for `ctnet netns add`; removed with `ip netns del` after the test if still there. */
function freshName(t: TestContext): string {
  const name = `x${process.pid}-${counter++}`;
  t.after(async () => {
    if (existsSync(`/run/netns/${name}`)) await sh('ip', ['netns', 'del', name]).catch(() => undefined);
  });
  return name;
}

function eth0Addresses(list: readonly IpAddrInfo[]): string[] {
  return (list.find((l) => l.ifname === 'eth0')?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

describe('ctnet netns and exec', { skip }, () => {
  test('netns add is seen by ip netns, and del removes it', async (t) => {
    const state = tempStateDir(t);
    const name = freshName(t);
    await cliOk(state, ['netns', 'add', name]);
    assert.ok((await ipNetnsList()).includes(name), 'ip netns list shows it');
    const inside = await sh('ip', ['netns', 'exec', name, 'ip', '-j', 'link', 'show']);
    assert.deepEqual((JSON.parse(inside) as IpLink[]).map((l) => l.ifname), ['lo'], 'ip netns exec works in it');

    await cliOk(state, ['netns', 'del', name]);
    assert.equal((await ipNetnsList()).includes(name), false, 'ip netns list no longer shows it');
    assert.equal(existsSync(`/run/netns/${name}`), false, 'the namespace file is gone');
  });

  test('netns ls shows a namespace made by ip netns', async (t) => {
    const state = tempStateDir(t);
    const name = await newNetns(t, 'y');
    const table = await cliOk(state, ['netns', 'ls']);
    const rows = table.trim().split('\n').map((l) => l.trim());
    assert.equal(rows[0], 'NAME');
    assert.ok(rows.slice(1).includes(name), `netns ls lists ${name}: ${table}`);
    assert.ok((JSON.parse(await cliOk(state, ['netns', 'ls', '--json'])) as string[]).includes(name));
  });

  test('netns del of a missing namespace fails with one error line', async (t) => {
    const state = tempStateDir(t);
    const name = freshName(t);
    const res = await cli(state, ['netns', 'del', name]);
    assert.notEqual(res.code, 0);
    assert.equal(res.stdout, '');
    const lines = res.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(res.stderr)}`);
    assert.match(lines[0] ?? '', new RegExp(`^ctnet: .*"${name}".*not found`));
  });

  test('netns add of an existing name fails and leaves it alone', async (t) => {
    const state = tempStateDir(t);
    const name = await newNetns(t, 'y');
    await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const res = await cli(state, ['netns', 'add', name]);
    assert.notEqual(res.code, 0);
    assert.equal(res.stderr.split('\n').filter((l) => l !== '').length, 1);
    // Still the same namespace: lo is still up in it.
    const lo = (await ipJson<IpLink[]>(['link', 'show', 'lo'], name))[0];
    assert.ok(lo?.flags.includes('UP'), 'the existing namespace was not replaced');
  });

  test('exec runs the command inside the namespace', async (t) => {
    const state = tempStateDir(t);
    const name = await newNetns(t, 'e');
    // A link only this namespace has.
    await sh('ip', ['-n', name, 'link', 'add', 'br-e', 'type', 'bridge']);
    const res = await cli(state, ['exec', name, '--', 'ip', '-j', 'link', 'show']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual((JSON.parse(res.stdout) as IpLink[]).map((l) => l.ifname), ['lo', 'br-e']);

    const fresh = await newNetns(t, 'e');
    const only = await cliOk(state, ['exec', fresh, '--', 'ip', '-j', 'link']);
    assert.deepEqual((JSON.parse(only) as IpLink[]).map((l) => l.ifname), ['lo']);
  });

  test('exec passes the exit code through', async (t) => {
    const state = tempStateDir(t);
    const name = await newNetns(t, 'e');
    assert.equal((await cli(state, ['exec', name, '--', 'sh', '-c', 'exit 7'])).code, 7);
    assert.equal((await cli(state, ['exec', name, '--', 'true'])).code, 0);
    const missing = await cli(state, ['exec', name, '--', 'no-such-command-ctnet']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no-such-command-ctnet/);
  });

  test('connect by netns path and by pid:N; ls shows the container as given', async (t) => {
    const state = tempStateDir(t);
    const named = await newNetns(t, 'p');
    const path = `/run/netns/${named}`;
    const pid = await netnsHolder(t);
    const byPid = `pid:${pid}`;
    const before = await hostFootprint();

    await cliOk(state, ['network', 'create', 'refs', '--subnet', '10.73.1.0/24']);
    await cliOk(state, ['connect', 'refs', path]);
    await cliOk(state, ['connect', 'refs', byPid]);

    const eps = JSON.parse(await cliOk(state, ['ls', '--json'])) as Endpoint[];
    assert.deepEqual(eps.map((e) => [e.container, e.ifname, e.addresses]).sort(), [
      [path, 'eth0', ['10.73.1.2/24']],
      [byPid, 'eth0', ['10.73.1.3/24']],
    ].sort());
    const table = await cliOk(state, ['ls']);
    assert.match(table, new RegExp(`^${path}\\s+refs\\s+eth0\\s+10\\.73\\.1\\.2/24`, 'm'));
    assert.match(table, new RegExp(`^${byPid}\\s+refs\\s+eth0\\s+10\\.73\\.1\\.3/24`, 'm'));

    // The kernel's view, through iproute2 and nsenter, not through ctnet.
    assert.deepEqual(eth0Addresses(await ipJson<IpAddrInfo[]>(['addr', 'show'], named)), ['10.73.1.2/24']);
    const pidAddrs = JSON.parse(await sh('nsenter', ['-t', String(pid), '-n', 'ip', '-j', 'addr', 'show'])) as IpAddrInfo[];
    assert.deepEqual(eth0Addresses(pidAddrs), ['10.73.1.3/24']);
    assert.ok(await ping(named, '10.73.1.3'), 'the path container pings the pid container');

    await cliOk(state, ['disconnect', 'refs', path]);
    await cliOk(state, ['disconnect', 'refs', byPid]);
    assert.deepEqual(JSON.parse(await cliOk(state, ['ls', '--json'])), []);
    await cliOk(state, ['network', 'rm', 'refs']);
    assert.deepEqual(await ctnetLinks(), [], 'no ctnet link is left');
    assert.equal(await hasCtnetTable(), false, 'no inet ctnet table is left');
    assert.deepEqual(await hostFootprint(), before, 'links, addresses, routes and rules as before');
  });
});
