/**
 * What ctnet changes in the host's own sysctls, and what it leaves alone. The oracle for router
 * advertisements is the kernel itself: a real RA is sent from the uplink's far end (a raw ICMPv6
 * socket in Python, which the kernel checksums), and `ip -6 route` shows whether the host took it.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { NetworkDetails } from '../../src/index.js';
import { cli, cliOk, ctnetStateDir, type IpRoute, nsExec, sandboxSkipReason, sh, waitForDad, withUplink6 } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

// A Router Advertisement (RFC 4861 4.2) with a router lifetime of 1800 s and one Prefix Information
// option (on-link and autonomous) for PREFIX/64, sent to all nodes on IFNAME with hop limit 255.
const SEND_RA_PY = `
import socket, struct, sys
ifname, prefix = sys.argv[1], sys.argv[2]
index = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack('!BBBBIII', 3, 4, 64, 0xC0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, prefix)
s.sendto(ra + pio, ('ff02::1', 0, 0, index))
`;

async function sendRa(world: string, prefix: string): Promise<void> {
  await nsExec(world, 'python3', ['-c', SEND_RA_PY, 'eth0', prefix]);
}

async function sysctl(key: string): Promise<string> {
  return (await sh('sysctl', ['-n', key])).trim();
}

async function routesOn(dev: string): Promise<IpRoute[]> {
  return JSON.parse(await sh('ip', ['-j', '-6', 'route', 'show', 'dev', dev])) as IpRoute[];
}

/** Whether `dev` has a default route learned from an RA, or the on-link route of `prefix`. */
async function learned(dev: string, what: string): Promise<boolean> {
  const list = await routesOn(dev);
  return what === 'default' ? list.some((r) => r.dst === 'default' && r.protocol === 'ra') : list.some((r) => r.dst === what);
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a dual-stack network keeps the host processing router advertisements on its uplink', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const { world, uplink } = await withUplink6(t);
  await waitForDad([world]);
  // A host that forwards nothing yet and takes its IPv6 route from RAs, as a SLAAC host does.
  await sh('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=0', `net.ipv6.conf.${uplink}.accept_ra=1`]);
  await sendRa(world, 'fd00:ab01::');
  assert.ok(await eventually(() => learned(uplink, 'default')), 'the host took the default route of an RA before ctnet ran');

  const created = await cli(stateDir, ['network', 'create', 'ranet', '--subnet', '10.97.0.0/24', '--subnet', 'fd97::/64']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stderr, new RegExp(`set sysctl net\\.ipv6\\.conf\\.${uplink}\\.accept_ra=2 \\(was 1\\)`));
  assert.match(created.stderr, /set sysctl net\.ipv6\.conf\.all\.forwarding=1 \(was 0\)/);
  assert.equal(await sysctl('net.ipv6.conf.all.forwarding'), '1');
  assert.equal(await sysctl(`net.ipv6.conf.${uplink}.accept_ra`), '2');
  const details = JSON.parse(await cliOk(stateDir, ['--json', 'network', 'inspect', 'ranet'])) as NetworkDetails;
  const bridge = details.bridge ?? '';
  // ctnet's own bridge keeps 1: with forwarding on, containers cannot configure the host with RAs.
  assert.equal(await sysctl(`net.ipv6.conf.${bridge}.accept_ra`), '1');

  assert.equal(await learned(uplink, 'default'), true, 'turning forwarding on kept the default route the RA gave');
  await sendRa(world, 'fd00:ab02::');
  assert.ok(await eventually(() => learned(uplink, 'fd00:ab02::/64')), 'an RA after the network was created is processed');

  // The oracle tells the difference: with accept_ra back at 1, forwarding makes the kernel ignore RAs.
  await sh('sysctl', ['-qw', `net.ipv6.conf.${uplink}.accept_ra=1`]);
  await sendRa(world, 'fd00:ab03::');
  assert.equal(await eventually(() => learned(uplink, 'fd00:ab03::/64'), 500), false, 'an RA is ignored on an interface left at accept_ra=1');

  const shown = Object.fromEntries(
    (JSON.parse(await cliOk(stateDir, ['--json', 'network', 'inspect', 'ranet'])) as NetworkDetails).sysctls.map((s) => [s.key, `${s.value ?? '-'}/${s.want}`]),
  );
  assert.deepEqual(shown, {
    'net.ipv4.ip_forward': '1/1',
    'net.ipv6.conf.all.forwarding': '1/1',
    [`net.ipv4.conf.${bridge}.route_localnet`]: '1/1',
    [`net.ipv6.conf.${bridge}.accept_dad`]: '0/0',
    // inspect shows the value now, so the accept_ra the test put back is visible.
    [`net.ipv6.conf.${uplink}.accept_ra`]: '1/2',
  });
});

test('a network made while IPv6 forwarding is on already changes no accept_ra', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const { uplink } = await withUplink6(t);
  await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', `net.ipv6.conf.${uplink}.accept_ra=1`]);
  const created = await cli(stateDir, ['network', 'create', 'fwdon', '--subnet', '10.96.0.0/24', '--subnet', 'fd96::/64']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stderr, '', 'no host sysctl changed, so there is nothing to tell');
  assert.equal(await sysctl(`net.ipv6.conf.${uplink}.accept_ra`), '1');
});
