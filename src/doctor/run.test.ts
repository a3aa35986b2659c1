/**
 * runDoctor on an in-memory kernel, recording firewalls and a state database in a temporary
 * directory: which facts each check reads, and that a check that throws is a warning. The
 * verdicts themselves are checks.test.ts's; the real host is test/integration/doctor.test.ts's.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Ctnet } from '../ctnet.js';
import { NftError } from '../errors.js';
import { FakeLegacyIptables } from '../firewall/fake-legacy.js';
import { ForeignFirewall } from '../firewall/foreign.js';
import { FakeNftNetlink } from '../firewall/nft/fake-netlink.js';
import { FakeNftRunner } from '../firewall/nft/fake-runner.js';
import { NoneFirewallDriver } from '../firewall/none-driver.js';
import { NF_DROP, NF_INET_FORWARD, NFPROTO_IPV4 } from '../netlink/nftnl/constants.js';
import { chainPayload } from '../netlink/nftnl/test-fixtures.js';
import { FakeKernel } from '../network/fake-kernel.js';
import type { DoctorCheck, DoctorReport } from './checks.js';
import { type DoctorOptions, runDoctor } from './run.js';

const CHECKS = ['state-dir', 'nft', 'ip-forward', 'ipv6-forward', 'br-netfilter', 'rp-filter', 'forward-policy', 'legacy-iptables', 'bridge-ports', 'stale-endpoints'];

interface Host {
  dir: string;
  kernel: FakeKernel;
  nft: FakeNftRunner;
  netlink: FakeNftNetlink;
  legacy: FakeLegacyIptables;
  doctor: () => Promise<DoctorReport>;
}

/** A state directory with network "n1" (10.68.0.0/24 on bridge ct-n1) and container "c1" on it. */
async function host(t: TestContext): Promise<Host> {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-doctor-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  const kernel = new FakeKernel();
  kernel.addNamespace('c1');
  await Ctnet.using({ stateDir: dir, kernel, firewall: new NoneFirewallDriver() }, async (ct) => {
    await ct.createNetwork({ name: 'n1', subnets: ['10.68.0.0/24'], bridge: 'ct-n1' });
    await ct.connect('n1', 'c1');
  });
  const nft = new FakeNftRunner();
  const netlink = new FakeNftNetlink();
  const legacy = new FakeLegacyIptables();
  const options = (): DoctorOptions => ({ stateDir: dir, kernel, nft, legacy, foreign: new ForeignFirewall({ runner: nft, netlink, legacy }) });
  return { dir, kernel, nft, netlink, legacy, doctor: () => runDoctor(options()) };
}

function checkOf(report: DoctorReport, name: string): DoctorCheck {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found !== undefined, `a ${name} check`);
  return found;
}

describe('runDoctor()', () => {
  test('a healthy host: every check, in order, none fails', async (t) => {
    const h = await host(t);
    const closed = h.kernel.closedHandles;
    const report = await h.doctor();
    assert.deepEqual(report.checks.map((c) => c.name), CHECKS);
    assert.equal(report.ok, true);
    assert.match(checkOf(report, 'state-dir').message, /: 1 network, 1 endpoint$/);
    assert.equal(checkOf(report, 'ip-forward').message, 'net.ipv4.ip_forward is 1, as 1 network needs it');
    assert.equal(checkOf(report, 'ipv6-forward').message, 'net.ipv6.conf.all.forwarding is 0; no network forwards this family');
    assert.equal(checkOf(report, 'bridge-ports').message, 'ct-n1: 1 of 1023 ports');
    assert.equal(checkOf(report, 'stale-endpoints').message, 'the namespace of every endpoint exists (1)');
    assert.equal(h.kernel.closedHandles, closed, "a kernel given is the caller's to close");
  });

  test('forwarding off, a drop chain without the rules, nft failing: each a fail', async (t) => {
    const h = await host(t);
    h.kernel.sysctls.write('net/ipv4/ip_forward', '0');
    h.netlink.answerDumps([chainPayload(NFPROTO_IPV4, 'filter', 'FORWARD', { hook: NF_INET_FORWARD, policy: NF_DROP })]);
    h.nft.listResult = new NftError('nft is not installed: no executable "nft" in /usr/sbin', { stderr: '' });
    const report = await h.doctor();
    assert.equal(report.ok, false);
    assert.deepEqual(report.checks.filter((c) => c.status === 'fail').map((c) => c.name), ['nft', 'ip-forward', 'forward-policy']);
    assert.equal(checkOf(report, 'forward-policy').message, 'ip filter FORWARD (nftables) drops forwarded packets by default and lacks ctnet\'s accept rules for network "n1"');
  });

  test('legacy iptables in use: read through its save; a save that fails is a warning that says why', async (t) => {
    const h = await host(t);
    h.legacy.inUse.set(4, ['filter']);
    h.legacy.saves.set(4, '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n');
    const report = await h.doctor();
    assert.equal(checkOf(report, 'forward-policy').status, 'fail', 'legacy FORWARD DROP without the rules');
    assert.match(checkOf(report, 'legacy-iptables').message, /^iptables-legacy holds policies filter FORWARD DROP in filter/);
    h.legacy.saves.set(4, new Error('iptables-legacy-save is not installed (Debian package iptables)'));
    const unread = await h.doctor();
    assert.equal(checkOf(unread, 'forward-policy').status, 'warn');
    assert.match(checkOf(unread, 'legacy-iptables').message, /cannot read them: iptables-legacy-save is not installed/);
  });

  test('a container namespace gone behind ctnet, a bridge gone: warnings', async (t) => {
    const h = await host(t);
    h.kernel.netns.deleteNamed('c1');
    const bridge = h.kernel.hostNs.find('ct-n1');
    assert.ok(bridge !== undefined);
    h.kernel.hostNs.removeLink(bridge.index);
    const report = await h.doctor();
    assert.equal(report.ok, true);
    assert.equal(checkOf(report, 'stale-endpoints').status, 'warn');
    assert.deepEqual([checkOf(report, 'bridge-ports').status, checkOf(report, 'bridge-ports').message], ['warn', 'ct-n1 is missing']);
  });

  test('a check that throws is a warning that says why; the others still run', async (t) => {
    const h = await host(t);
    h.kernel.failNext('linkList', 'EPERM', 'host');
    const report = await h.doctor();
    assert.deepEqual(report.checks.map((c) => c.name), CHECKS);
    const ports = checkOf(report, 'bridge-ports');
    assert.equal(ports.status, 'warn');
    assert.match(ports.message, /^could not be checked: RTM_GETLINK .*EPERM/);
  });

  test('a state directory others can write: a fail, and no network is read from it', async (t) => {
    const h = await host(t);
    chmodSync(h.dir, 0o777);
    const report = await h.doctor();
    const state = checkOf(report, 'state-dir');
    assert.equal(state.status, 'fail');
    assert.match(state.fix ?? '', /chmod 0700/);
    assert.equal(checkOf(report, 'bridge-ports').message, 'no bridge network');
  });

  test('a state directory that does not exist: ok, no network', async () => {
    const report = await runDoctor({ stateDir: '/nonexistent/ctnet-doctor-test', kernel: new FakeKernel(), nft: new FakeNftRunner(), legacy: new FakeLegacyIptables(), foreign: new ForeignFirewall({ runner: new FakeNftRunner(), netlink: new FakeNftNetlink(), legacy: new FakeLegacyIptables() }) });
    assert.equal(report.ok, true);
    assert.equal(checkOf(report, 'state-dir').message, '/nonexistent/ctnet-doctor-test does not exist yet: no network');
  });
});
