/**
 * `ctnet doctor`: one line per check, exit 1 only when one fails. Each breakage is made with the
 * independent tool (sysctl, iptables, ip netns, chmod) and the real CLI reports it; the JSON
 * form has the same checks. Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { chmodSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { DoctorReport } from '../../src/index.js';
import { forwardDrop } from '../helpers/coexist.js';
import { cli, cliOk, ctnetStateDir, newNetns, sandboxSkipReason, sh } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

const CHECKS = ['state-dir', 'nft', 'ip-forward', 'ipv6-forward', 'br-netfilter', 'rp-filter', 'forward-policy', 'legacy-iptables', 'bridge-ports', 'stale-endpoints'];

/** `ctnet --json doctor`: its exit code and report. */
async function doctor(stateDir: string): Promise<{ code: number; report: DoctorReport; stderr: string }> {
  const res = await cli(stateDir, ['--json', 'doctor']);
  return { code: res.code, report: JSON.parse(res.stdout) as DoctorReport, stderr: res.stderr };
}

function statusOf(report: DoctorReport, name: string): string | undefined {
  return report.checks.find((c) => c.name === name)?.status;
}

describe('ctnet doctor', { skip }, () => {
  test('a sandbox with one network: every check on one line, none fails, exit 0', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docnet', '--subnet', '10.73.1.0/24']);
    const res = await cli(stateDir, ['doctor']);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[1]), CHECKS);
    for (const line of lines) assert.match(line, /^(ok|warn) {2,}/, line);
    assert.match(res.stdout, /^ok {4}state-dir +\S+ is private to uid 0: 1 network, 0 endpoints$/m);
    assert.match(res.stdout, /^ok {4}ip-forward +net\.ipv4\.ip_forward is 1, as 1 network needs it$/m);
    assert.match(res.stdout, /^ok {4}bridge-ports +ct-docnet: 0 of 1023 ports$/m);
    assert.equal(res.stderr, '');
  });

  test('--json: { ok, checks: [{ name, status, message, fix? }] }', async (t) => {
    const stateDir = ctnetStateDir(t);
    const { code, report } = await doctor(stateDir);
    assert.equal(code, 0);
    assert.deepEqual(Object.keys(report).sort(), ['checks', 'ok']);
    assert.equal(report.ok, true);
    assert.deepEqual(report.checks.map((c) => c.name), CHECKS);
    for (const c of report.checks) {
      assert.deepEqual(Object.keys(c), c.fix === undefined ? ['name', 'status', 'message'] : ['name', 'status', 'message', 'fix']);
      assert.ok(['ok', 'warn', 'fail'].includes(c.status));
      assert.equal(c.fix !== undefined, c.status !== 'ok', `${c.name}: a fix exactly when something is wrong`);
    }
  });

  test('ip_forward switched off under a network: FAIL, exit 1', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docfwd', '--subnet', '10.73.2.0/24']);
    await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    t.after(async () => { await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1']); });
    const res = await cli(stateDir, ['doctor']);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /^FAIL {2}ip-forward +net\.ipv4\.ip_forward is 0, but network "docfwd" forwards this family: .*; fix: sysctl -w net\.ipv4\.ip_forward=1/m);
    assert.equal(res.stderr, 'ctnet: 1 check failed: ip-forward\n');
    const { code, report } = await doctor(stateDir);
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.equal(statusOf(report, 'ip-forward'), 'fail');
  });

  test('a foreign FORWARD drop: FAIL while the network lacks its rules, ok once a connect put them in', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docdrop', '--subnet', '10.73.3.0/24']);
    await forwardDrop(t, 'iptables');
    const before = await doctor(stateDir);
    assert.equal(before.code, 1);
    assert.equal(before.report.checks.find((c) => c.name === 'forward-policy')?.message, 'ip filter FORWARD (nftables) drops forwarded packets by default and lacks ctnet\'s accept rules for network "docdrop"');
    await cliOk(stateDir, ['connect', 'docdrop', await newNetns(t)]);
    const after = await doctor(stateDir);
    assert.equal(after.code, 0);
    assert.equal(after.report.checks.find((c) => c.name === 'forward-policy')?.message, "ip filter FORWARD (nftables) drops forwarded packets by default; ctnet's accept rules let its networks through");
  });

  test('an endpoint whose namespace was deleted behind ctnet: counted', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docgone', '--subnet', '10.73.4.0/24']);
    const ns = await newNetns(t);
    await cliOk(stateDir, ['connect', 'docgone', ns]);
    assert.equal(statusOf((await doctor(stateDir)).report, 'stale-endpoints'), 'ok');
    await sh('ip', ['netns', 'del', ns]);
    const { code, report } = await doctor(stateDir);
    assert.equal(code, 0, 'a warning, not a failure');
    const stale = report.checks.find((c) => c.name === 'stale-endpoints');
    assert.equal(stale?.status, 'warn');
    assert.equal(stale?.message, '1 endpoint record of 1 names a namespace that is gone: its addresses and published ports stay taken');
  });

  test('a state directory others can write: FAIL', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'doctrust', '--subnet', '10.73.5.0/24']);
    chmodSync(stateDir, 0o777);
    // Back before the test ends: the clean-up after it opens the state directory too.
    const { code, report } = await doctor(stateDir).finally(() => { chmodSync(stateDir, 0o700); });
    assert.equal(code, 1);
    const state = report.checks.find((c) => c.name === 'state-dir');
    assert.equal(state?.status, 'fail');
    assert.match(state?.message ?? '', /is writable by every user \(mode 777\)/);
  });
});
