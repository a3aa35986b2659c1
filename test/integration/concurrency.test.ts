/**
 * Many `ctnet` processes at once against one state directory: the SQLite write lock must hand
 * every container its own address and every network its own subnet, and the kernel must end up
 * with exactly what the state says. Judged with `ip -j` in the sandbox and in each container.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { cli, type CliResult, ctnetStateDir, ipJson, type IpAddrInfo, type IpLink, newNetns, sandboxSkipReason } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

const N = 50;

/** ctnet's host-side veths: `ct` and 12 hex digits (bridges are `ct-NAME`). */
const HOST_VETH = /^ct[0-9a-f]{12}$/;

function assertAllOk(results: readonly CliResult[], what: string): void {
  const failed = results.map((r, i) => ({ i, r })).filter(({ r }) => r.code !== 0);
  assert.deepEqual(
    failed.map(({ i, r }) => `#${i}: exit ${r.code}: ${r.stderr.trim()}`),
    [],
    `${failed.length} of ${results.length} ${what} failed`,
  );
}

test(`${N} concurrent connects and disconnects`, { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const bridge = `ctc${process.pid % 100000}`;
  const created = await cli(stateDir, ['network', 'create', 'conc', '--subnet', '10.82.0.0/24', '--bridge', bridge]);
  assert.equal(created.code, 0, created.stderr);
  const names = await Promise.all(Array.from({ length: N }, () => newNetns(t, 'cc')));

  const started = performance.now();
  const connects = await Promise.all(names.map((ns) => cli(stateDir, ['connect', 'conc', ns])));
  const connectMs = performance.now() - started;
  t.diagnostic(`${N} concurrent connects: ${connectMs.toFixed(0)} ms wall time`);
  assertAllOk(connects, 'connects');

  // ctnet's view: N endpoints, N distinct addresses in the subnet, none of them the gateway.
  const listed = await cli(stateDir, ['--json', 'ls']);
  assert.equal(listed.code, 0, listed.stderr);
  const eps = JSON.parse(listed.stdout) as { container: string; addresses: string[]; hostIfname: string; ifname: string }[];
  assert.equal(eps.length, N);
  assert.deepEqual(eps.map((e) => e.container).sort(), [...names].sort());
  const stateAddrs = eps.map((e) => {
    assert.equal(e.addresses.length, 1);
    return e.addresses[0] ?? '';
  });
  assert.equal(new Set(stateAddrs).size, N, `duplicate addresses in ctnet ls: ${stateAddrs.join(' ')}`);
  for (const a of stateAddrs) {
    assert.match(a, /^10\.82\.0\.\d+\/24$/);
    assert.notEqual(a, '10.82.0.1/24');
  }

  // The kernel's view, inside each container: eth0 holds exactly the address ctnet recorded.
  const byContainer = new Map(eps.map((e) => [e.container, e]));
  const inside = await Promise.all(names.map((ns) => ipJson<IpAddrInfo[]>(['-4', 'addr', 'show', 'dev', 'eth0'], ns)));
  const kernelAddrs = inside.map((info, i) => {
    const v4 = info.flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
    assert.equal(v4.length, 1, `${names[i] ?? ''}: ${JSON.stringify(v4)}`);
    assert.deepEqual(v4, byContainer.get(names[i] ?? '')?.addresses, `${names[i] ?? ''}: kernel and state disagree`);
    return v4[0];
  });
  assert.equal(new Set(kernelAddrs).size, N, 'duplicate addresses inside the containers');

  // In the sandbox: every host veth is a port of the bridge, and there is one per endpoint.
  const hostLinks = (await ipJson<IpLink[]>(['link', 'show'])).filter((l) => HOST_VETH.test(l.ifname));
  assert.equal(hostLinks.length, N);
  for (const l of hostLinks) assert.equal(l.master, bridge, `${l.ifname} is not enslaved to ${bridge}`);
  assert.deepEqual(hostLinks.map((l) => l.ifname).sort(), eps.map((e) => e.hostIfname).sort());

  const startedDel = performance.now();
  const disconnects = await Promise.all(names.map((ns) => cli(stateDir, ['disconnect', 'conc', ns])));
  t.diagnostic(`${N} concurrent disconnects: ${(performance.now() - startedDel).toFixed(0)} ms wall time`);
  assertAllOk(disconnects, 'disconnects');
  const left = (await ipJson<IpLink[]>(['link', 'show'])).filter((l) => HOST_VETH.test(l.ifname)).map((l) => l.ifname);
  assert.deepEqual(left, [], 'host veths left after disconnect');
  const after = await cli(stateDir, ['--json', 'ls']);
  assert.deepEqual(JSON.parse(after.stdout), []);
  for (const ns of names) {
    const l = await ipJson<IpLink[]>(['link', 'show'], ns);
    assert.deepEqual(l.map((x) => x.ifname), ['lo'], `${ns} still has interfaces`);
  }
});

test('8 concurrent network creates with distinct subnets all succeed', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const specs = Array.from({ length: 8 }, (_, i) => ({ name: `par${i}`, subnet: `10.82.${10 + i}.0/24` }));
  const results = await Promise.all(
    specs.map((s, i) => cli(stateDir, ['network', 'create', s.name, '--subnet', s.subnet, ...(i % 2 === 1 ? ['--driver', 'ptp'] : [])])),
  );
  assertAllOk(results, 'creates');
  const listed = JSON.parse((await cli(stateDir, ['--json', 'network', 'ls'])).stdout) as { name: string; subnets: { subnet: string }[]; bridge: string | null }[];
  assert.deepEqual(
    listed.map((n) => `${n.name} ${n.subnets.map((s) => s.subnet).join(',')}`).sort(),
    specs.map((s) => `${s.name} ${s.subnet}`).sort(),
  );
  // Every bridge network's bridge exists and holds its gateway.
  const addrs = await ipJson<IpAddrInfo[]>(['-4', 'addr', 'show']);
  for (const n of listed) {
    if (n.bridge === null) continue;
    const link = addrs.find((l) => l.ifname === n.bridge);
    assert.ok(link !== undefined, `bridge ${n.bridge} of ${n.name} is missing`);
    const gateway = (n.subnets[0]?.subnet ?? '').replace(/0\/24$/, '1');
    assert.deepEqual(link.addr_info.map((a) => `${a.local}/${a.prefixlen}`), [`${gateway}/24`]);
  }
});

test('2 concurrent creates with overlapping subnets: exactly one succeeds', { skip }, async (t) => {
  for (const [round, [a, b]] of [
    ['10.82.30.0/24', '10.82.30.0/24'],
    ['10.82.40.0/24', '10.82.40.0/23'],
    ['10.82.50.0/25', '10.82.50.0/24'],
  ].entries()) {
    await t.test(`${a} and ${b}`, async (tt) => {
      const stateDir = ctnetStateDir(tt);
      const [ra, rb] = await Promise.all([
        cli(stateDir, ['network', 'create', `ova${round}`, '--subnet', a ?? '']),
        cli(stateDir, ['network', 'create', `ovb${round}`, '--subnet', b ?? '', '--driver', round === 1 ? 'ptp' : 'bridge']),
      ]);
      const ok = [ra, rb].filter((r) => r.code === 0);
      assert.equal(ok.length, 1, `exit codes ${ra.code} ${rb.code}: ${ra.stderr}${rb.stderr}`);
      const loser = ra.code === 0 ? rb : ra;
      assert.match(loser.stderr, /^ctnet: [^\n]*overlaps[^\n]*\n$/);
      const listed = JSON.parse((await cli(stateDir, ['--json', 'network', 'ls'])).stdout) as { name: string }[];
      assert.equal(listed.length, 1);
      // The loser left no bridge behind.
      const bridges = (await ipJson<IpLink[]>(['link', 'show'])).map((l) => l.ifname).filter((n) => n.startsWith(`ct-ov`));
      assert.deepEqual(bridges, listed[0]?.name.startsWith('ovb') && round === 1 ? [] : [`ct-${listed[0]?.name ?? ''}`]);
    });
  }
});
