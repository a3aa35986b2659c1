/**
 * `ctnet doctor`: one line per check, exit 1 only when one fails. Each breakage is made with the
 * independent tool (sysctl, iptables, ip netns, chmod) and the real CLI reports it; the JSON
 * form has the same checks. Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { DoctorCheck, DoctorReport } from '../../src/index.js';
import { forwardDrop } from '../helpers/coexist.js';
import { CLI, cli, type CliResult, cliOk, ctnetStateDir, links, newNetns, pluginExec, sandboxSkipReason, sh, tempStateDir } from '../helpers/sandbox.js';

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

function checkOf(report: DoctorReport, name: string): DoctorCheck {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found !== undefined, `a ${name} check`);
  return found;
}

/** Sets a sysctl for the test, and back to what it was after it. */
async function sysctlForTest(t: TestContext, key: string, value: string): Promise<void> {
  const before = (await sh('sysctl', ['-n', key])).trim();
  await sh('sysctl', ['-qw', `${key}=${value}`]);
  t.after(async () => { await sh('sysctl', ['-qw', `${key}=${before}`]); });
}

/**
 * `ctnet --json doctor` in a mount namespace of its own where /usr/sbin/nft (and /sbin/nft, a
 * link to it) is /dev/null, which is not executable: a host without nftables.
 */
async function doctorWithoutNft(stateDir: string): Promise<CliResult> {
  const script = 'mount --bind /dev/null /usr/sbin/nft && exec "$0" "$@"';
  return pluginExec('unshare', ['--mount', 'sh', '-c', script, process.execPath, CLI, '--json', 'doctor'], { CTNET_STATE_DIR: stateDir }, '');
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

  test('IPv6 forwarding switched off under a dual-stack network: FAIL, exit 1', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docfwd6', '--subnet', '10.73.6.0/24', '--subnet', 'fd73:6::/64']);
    await sysctlForTest(t, 'net.ipv6.conf.all.forwarding', '0');
    const { code, report } = await doctor(stateDir);
    assert.equal(code, 1);
    const v6 = checkOf(report, 'ipv6-forward');
    assert.equal(v6.status, 'fail');
    assert.match(v6.message, /^net\.ipv6\.conf\.all\.forwarding is 0, but network "docfwd6" forwards this family/);
    assert.match(v6.fix ?? '', /^sysctl -w net\.ipv6\.conf\.all\.forwarding=1/);
    assert.equal(statusOf(report, 'ip-forward'), 'ok');
  });

  test('no nft on the host: FAIL, exit 1', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docnft', '--subnet', '10.73.7.0/24']);
    const res = await doctorWithoutNft(stateDir);
    assert.equal(res.code, 1, res.stderr);
    const report = JSON.parse(res.stdout) as DoctorReport;
    const nft = checkOf(report, 'nft');
    assert.equal(nft.status, 'fail');
    assert.match(nft.message, /^nft is not installed: no executable "nft" in .*: ctnet drives the firewall through nft$/);
    assert.equal(nft.fix, 'install nftables (Debian package nftables)');
    assert.deepEqual(JSON.parse(res.stderr), { error: '1 check failed: nft', code: 'CTNET_HOST' });
  });

  test('br_netfilter sending bridged traffic through the forward hook: a warning with a bridge network, ok once off', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docbrnf', '--subnet', '10.73.8.0/24']);
    await sysctlForTest(t, 'net.bridge.bridge-nf-call-iptables', '1');
    await sysctlForTest(t, 'net.bridge.bridge-nf-call-ip6tables', '0');
    const on = await doctor(stateDir);
    assert.equal(on.code, 0, 'a warning, not a failure');
    const brnf = checkOf(on.report, 'br-netfilter');
    assert.equal(brnf.status, 'warn');
    assert.match(brnf.message, /^br_netfilter sends bridged traffic through the forward hook \(bridge-nf-call-iptables=1\): /);
    await sh('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0']);
    assert.deepEqual(checkOf((await doctor(stateDir)).report, 'br-netfilter').status, 'ok');
  });

  test('strict reverse-path filtering: a warning that names the bridge', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docrp', '--subnet', '10.73.9.0/24']);
    assert.equal(statusOf((await doctor(stateDir)).report, 'rp-filter'), 'ok');
    await sysctlForTest(t, 'net.ipv4.conf.all.rp_filter', '1');
    const { code, report } = await doctor(stateDir);
    assert.equal(code, 0);
    const rp = checkOf(report, 'rp-filter');
    assert.equal(rp.status, 'warn');
    assert.match(rp.message, /^strict reverse-path filtering \(rp_filter=1\) on ct-docrp: /);
    assert.match(rp.fix ?? '', /net\.ipv4\.conf\.ct-docrp\.rp_filter=2/);
  });

  test('a full bridge: FAIL, and the next connect is refused; a missing bridge: a warning', async (t) => {
    const stateDir = ctnetStateDir(t);
    await cliOk(stateDir, ['network', 'create', 'docfull', '--subnet', '10.73.10.0/24']);
    // 1023 ports, the kernel's most, each a veth whose peer lives in `fill`: deleting that
    // namespace takes every pair with it in one go, where 1023 deletions would take half a minute.
    const fill = await newNetns(t, 'f');
    const batch = join(tempStateDir(t), 'fill.batch');
    writeFileSync(batch, Array.from({ length: 1023 }, (_, i) => `link add dfl${i} master ct-docfull type veth peer name p${i} netns ${fill}\n`).join(''));
    await sh('ip', ['-batch', batch]);
    try {
      const { code, report } = await doctor(stateDir);
      assert.equal(code, 1);
      const ports = checkOf(report, 'bridge-ports');
      assert.equal(ports.status, 'fail');
      assert.equal(ports.message, 'ct-docfull: 1023 of 1023 ports: network "docfull" cannot take another container (the kernel answers EXFULL)');
      const refused = await cli(stateDir, ['connect', 'docfull', await newNetns(t)]);
      // The engine words the kernel's EXFULL; nothing was changed, so a refusal (exit 2).
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /: bridge ct-docfull of network "docfull" is full: a Linux bridge takes at most 1023 ports$/m);
    } finally {
      await sh('ip', ['netns', 'del', fill]);
    }
    // The namespace's devices go away in the kernel's own time.
    for (let i = 0; i < 100 && (await links()).some((l) => l.ifname.startsWith('dfl')); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(checkOf((await doctor(stateDir)).report, 'bridge-ports').message, 'ct-docfull: 0 of 1023 ports');
    await sh('ip', ['link', 'del', 'ct-docfull']);
    const gone = checkOf((await doctor(stateDir)).report, 'bridge-ports');
    assert.deepEqual([gone.status, gone.message], ['warn', 'ct-docfull is missing']);
  });

  test('as another user: one line that says it must run as root, exit 1', async (t) => {
    const stateDir = ctnetStateDir(t);
    const res = await pluginExec('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, CLI, 'doctor'], { CTNET_STATE_DIR: stateDir }, '');
    assert.deepEqual([res.code, res.stdout, res.stderr], [1, '', "ctnet: ctnet doctor must run as root: the state database, nftables and netlink it reads are root's\n"]);
  });
});
