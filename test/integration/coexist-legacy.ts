/**
 * Coexistence with legacy iptables (x_tables, which nft cannot see): with `iptables-legacy -P
 * FORWARD DROP`, ctnet's containers still reach each other and the internet, `ctnet doctor` sees
 * the policy and ctnet's rules, and the last `network rm` takes the rules away. Not a suite of its
 * own: coexist.test.ts runs it in a network namespace of its own (`unshare --net`), because legacy
 * tables stay registered with the namespace that made them.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Ctnet, type DoctorReport, type HostChange } from '../../src/index.js';
import { forwardChain, forwardDrop, reach, REACHES_ALL } from '../helpers/coexist.js';
import { cli, ctnetStateDir, nftRuleset, newNetns, sandboxSkipReason, sh, tcpServer, withUplink } from '../helpers/sandbox.js';

test('iptables-legacy -P FORWARD DROP: rules in legacy FORWARD, traffic flows, doctor sees it, rm removes them', { skip: sandboxSkipReason() }, async (t) => {
  await sh('ip', ['link', 'set', 'lo', 'up']);
  const stateDir = ctnetStateDir(t);
  const changes: HostChange[] = [];
  const ct = Ctnet.open({ stateDir, onHostChange: (c) => changes.push(c) });
  t.after(() => { ct.close(); });
  const [c1, c2] = [await newNetns(t), await newNetns(t)];
  const { world, serverIp } = await withUplink(t);
  await tcpServer(t, world, serverIp, 7341);
  await forwardDrop(t, 'iptables-legacy');

  const net = await ct.createNetwork({ name: 'coexl', subnets: ['10.72.7.0/24'] });
  assert.deepEqual(changes.map((c) => `${c.action} ${c.rules} ${c.firewall} ${c.chain}`), ['add 2 iptables-legacy filter FORWARD']);
  assert.deepEqual(await forwardChain('iptables-legacy'), [
    '-P FORWARD DROP',
    `-A FORWARD -s 10.72.7.0/24 -m comment --comment "ctnet net ${net.id}" -j ACCEPT`,
    `-A FORWARD -d 10.72.7.0/24 -m comment --comment "ctnet net ${net.id}" -j ACCEPT`,
  ]);
  const hasIpFilter = (await nftRuleset()).nftables.some((i) => (i['table'] as { name?: string } | undefined)?.name === 'filter');
  assert.equal(hasIpFilter, false, 'nothing went into nftables but ctnet\'s own table');
  await ct.connect('coexl', c1);
  await ct.connect('coexl', c2);
  await tcpServer(t, c2, '10.72.7.3', 7342);
  assert.deepEqual(await reach(c1, { ip: '10.72.7.3', port: 7342 }, { ip: serverIp, port: 7341 }), REACHES_ALL);

  const doctor = await cli(stateDir, ['--json', 'doctor']);
  const report = JSON.parse(doctor.stdout) as DoctorReport;
  const byName = new Map(report.checks.map((c) => [c.name, c]));
  assert.equal(byName.get('forward-policy')?.status, 'ok');
  assert.match(byName.get('forward-policy')?.message ?? '', /^filter FORWARD \(iptables-legacy\) drops forwarded packets by default; ctnet's accept rules let its networks through$/);
  assert.equal(byName.get('legacy-iptables')?.status, 'warn');
  assert.match(byName.get('legacy-iptables')?.message ?? '', /^iptables-legacy holds policies filter FORWARD DROP in filter: nft does not show them/);
  assert.equal(doctor.code, 0, doctor.stderr);

  await ct.disconnect('coexl', c1);
  await ct.disconnect('coexl', c2);
  await ct.removeNetwork('coexl');
  assert.deepEqual(await forwardChain('iptables-legacy'), ['-P FORWARD DROP'], 'no ctnet rule is left, and the policy is still DROP');
});
