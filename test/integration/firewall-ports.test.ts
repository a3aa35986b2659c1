/**
 * Published ports (DNAT) of the nftables driver against the real kernel. Runs only as root inside
 * scripts/sandbox.sh (a private network namespace), because it creates nftables tables, namespaces,
 * a bridge and veths. The topology is built by hand with `ip`; the driver only does the firewall.
 * Assertions use real TCP and UDP (the servers answer with the client address they see) and
 * `nft -j list`, never the driver's own reader.
 *
 * The suite runs twice: with br_netfilter's `bridge-nf-call-iptables` on (traffic between two ports
 * of a bridge passes the inet hooks, as on most container hosts) and off. With it on, DNAT happens
 * while the frame is still being bridged, so a container reaching its own published port needs
 * hairpin mode on its bridge port (the frame leaves through the port it came in by); the topology
 * sets it, as the network layer has to.
 *
 * ```
 *   fwp-up (198.51.100.1) ── fwp-up-h 198.51.100.2 ┐
 *                                                   │ sandbox = the host, route_localnet on fwp-br
 *   fwp-a (10.98.0.2) ─┐                            │
 *                      ├─ fwp-br 10.98.0.1/24 ──────┤  network a9 (nat)
 *   fwp-b (10.98.0.3) ─┘                            │
 *   fwp-c (10.97.0.2) ──── fwp-c-h 10.97.0.1/24 ────┘  network c9 (nat), another ctnet network
 * ```
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseCidr } from '../../src/inet/cidr.js';
import { parseIp } from '../../src/inet/ip.js';
import { isAlreadyExists } from '../../src/errors.js';
import type { FirewallEndpoint, FirewallNetwork, PortMapping } from '../../src/firewall/driver.js';
import { NftFirewallDriver } from '../../src/firewall/nft/nft-driver.js';
import { dropCtnetTable, hasCtnetTable, peerAddress, pubElements, sh, stopServers, suiteServer } from '../helpers/sandbox.js';


const inSandbox = process.env['CTNET_SANDBOX'] === '1' && process.getuid?.() === 0;
const skip = inSandbox ? false : 'needs root inside scripts/sandbox.sh (CTNET_SANDBOX=1): it changes nftables and links';

// `host`: the sandbox itself, where the ports are published.
const where = (ns: string): string | undefined => (ns === 'host' ? undefined : ns);
const tcp = (ns: string, host: string, port: number): Promise<string> => peerAddress(where(ns), 'tcp', host, port);
const udp = (ns: string, host: string, port: number): Promise<string> => peerAddress(where(ns), 'udp', host, port);

const BRIDGE = 'fwp-br';
const GATEWAY = '10.98.0.1';
const A = { ns: 'fwp-a', hostIf: 'fwp-a-h', addr: '10.98.0.2' };
const B = { ns: 'fwp-b', hostIf: 'fwp-b-h', addr: '10.98.0.3' };
const C = { ns: 'fwp-c', hostIf: 'fwp-c-h', addr: '10.97.0.2', gateway: '10.97.0.1' };
const UPLINK = { ns: 'fwp-up', hostIf: 'fwp-up-h', addr: '198.51.100.1', hostAddr: '198.51.100.2' };
const NAMESPACES = [A.ns, B.ns, C.ns, UPLINK.ns];

const NET_A: FirewallNetwork = { id: 'a9', name: 'fwp-a9', mode: 'nat', subnets: [parseCidr('10.98.0.0/24')] };
const NET_C: FirewallNetwork = { id: 'c9', name: 'fwp-c9', mode: 'nat', subnets: [parseCidr('10.97.0.0/24')] };

const TCP_ANY: PortMapping = { family: 4, protocol: 'tcp', hostPort: 18080, containerIp: parseIp(A.addr), containerPort: 80 };
const TCP_ONE_IP: PortMapping = {
  family: 4,
  protocol: 'tcp',
  hostIp: parseIp(UPLINK.hostAddr),
  hostPort: 18082,
  containerIp: parseIp(A.addr),
  containerPort: 80,
};
const UDP_ANY: PortMapping = { family: 4, protocol: 'udp', hostPort: 18053, containerIp: parseIp(A.addr), containerPort: 5353 };
const EP_A: FirewallEndpoint = { id: 'ea01', networkId: NET_A.id, ports: [TCP_ANY, TCP_ONE_IP, UDP_ANY] };
// C's own server, published too: its elements outlive both networks in the last test.
const EP_C: FirewallEndpoint = {
  id: 'ec03',
  networkId: NET_C.id,
  ports: [{ family: 4, protocol: 'tcp', hostPort: 18090, containerIp: parseIp(C.addr), containerPort: 80 }],
};

const EP_A_ELEMENTS = [
  'pub4_any_addr tcp . 18080 -> 10.98.0.2 (ctnet ep ea01)',
  'pub4_any_addr udp . 18053 -> 10.98.0.2 (ctnet ep ea01)',
  'pub4_any_port tcp . 18080 -> 80 (ctnet ep ea01)',
  'pub4_any_port udp . 18053 -> 5353 (ctnet ep ea01)',
  'pub4_ip_addr 198.51.100.2 . tcp . 18082 -> 10.98.0.2 (ctnet ep ea01)',
  'pub4_ip_port 198.51.100.2 . tcp . 18082 -> 80 (ctnet ep ea01)',
];

async function addVethNamespace(ns: string, hostIf: string, addr: string, gateway: string): Promise<void> {
  await sh('ip', ['netns', 'add', ns]);
  await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await sh('ip', ['link', 'set', hostIf, 'up']);
  await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
  await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', gateway]);
}

// The sysctl exists (per network namespace) only while the br_netfilter module is loaded.
const BR_NF_SYSCTL = 'net.bridge.bridge-nf-call-iptables';
const BR_NF_PROC = '/proc/sys/net/bridge/bridge-nf-call-iptables';
const brNetfilterLoaded = existsSync(BR_NF_PROC);

for (const brNetfilter of [true, false]) {
  const modeSkip = skip !== false ? skip : brNetfilter && !brNetfilterLoaded ? 'the br_netfilter module is not loaded' : false;
  describe(`NftFirewallDriver published ports (real kernel, bridge-nf-call-iptables ${brNetfilter ? 'on' : 'off'})`, { skip: modeSkip }, () => {
    suite(brNetfilter);
  });
}

function suite(brNetfilter: boolean): void {
  const fw = new NftFirewallDriver();
  const servers: ChildProcess[] = [];
  // Restored afterwards: the other test files share the sandbox.
  let brNfBefore: string | undefined;

  before(async () => {
    await dropCtnetTable();
    if (brNetfilterLoaded) {
      brNfBefore = readFileSync(BR_NF_PROC, 'utf8').trim();
      await sh('sysctl', ['-q', '-w', `${BR_NF_SYSCTL}=${brNetfilter ? 1 : 0}`]);
    }
    await sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
    await sh('ip', ['link', 'set', BRIDGE, 'up']);
    for (const ct of [A, B]) {
      await addVethNamespace(ct.ns, ct.hostIf, ct.addr, GATEWAY);
      await sh('ip', ['link', 'set', ct.hostIf, 'master', BRIDGE]);
      await sh('ip', ['link', 'set', ct.hostIf, 'type', 'bridge_slave', 'hairpin', 'on']);
    }
    await addVethNamespace(C.ns, C.hostIf, C.addr, C.gateway);
    await sh('ip', ['addr', 'add', `${C.gateway}/24`, 'dev', C.hostIf]);
    await addVethNamespace(UPLINK.ns, UPLINK.hostIf, UPLINK.addr, UPLINK.hostAddr);
    await sh('ip', ['addr', 'add', `${UPLINK.hostAddr}/24`, 'dev', UPLINK.hostIf]);
    // The "other machine" has its default route through the host, so it can address the containers
    // directly and only the firewall decides what reaches them.
    // Per network namespace, so these are the sandbox's settings, not the host's. route_localnet is
    // what the engine sets on a network's interface: DNAT of 127.0.0.1 needs it.
    await sh('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await sh('sysctl', ['-q', '-w', `net.ipv4.conf.${BRIDGE}.route_localnet=1`]);
    servers.push(await suiteServer(A.ns, 'tcp', '0.0.0.0', 80));
    servers.push(await suiteServer(A.ns, 'udp', '0.0.0.0', 5353));
    servers.push(await suiteServer(C.ns, 'tcp', '0.0.0.0', 80));
    await fw.setupNetwork(NET_A);
    await fw.setupNetwork(NET_C);
    await fw.setupPorts(EP_A);
    await fw.setupPorts(EP_C);
  });

  after(async () => {
    await stopServers(servers);
    // The host ends first: a veth whose peer's namespace goes is removed later, by the kernel's
    // namespace cleanup, and the next suite's veth of the same name would meet it (EEXIST).
    for (const x of [A, B, C, UPLINK]) await sh('ip', ['link', 'del', x.hostIf]).catch(() => '');
    for (const ns of NAMESPACES) await sh('ip', ['netns', 'del', ns]).catch(() => '');
    await sh('ip', ['link', 'del', BRIDGE]).catch(() => '');
    await dropCtnetTable();
    if (brNfBefore !== undefined) await sh('sysctl', ['-q', '-w', `${BR_NF_SYSCTL}=${brNfBefore}`]);
  });

  test('the maps hold one address and one port element per mapping, tagged with the endpoint', async () => {
    assert.deepEqual(
      (await pubElements()).filter((e) => e.endsWith('(ctnet ep ea01)')),
      EP_A_ELEMENTS,
    );
  });

  test('from another machine: reachable on the host address, the client address kept', async () => {
    assert.equal(await tcp(UPLINK.ns, UPLINK.hostAddr, 18080), UPLINK.addr);
  });

  test('from the host: 127.0.0.1 is masqueraded, a host address is kept', async () => {
    assert.equal(await tcp('host', '127.0.0.1', 18080), GATEWAY);
    assert.equal(await tcp('host', UPLINK.hostAddr, 18080), UPLINK.hostAddr);
  });

  test('from another container of the same network: hairpin, masqueraded to the gateway', async () => {
    assert.equal(await tcp(B.ns, GATEWAY, 18080), GATEWAY);
    assert.equal(await tcp(B.ns, UPLINK.hostAddr, 18080), GATEWAY);
  });

  test('from the container itself through a host address: hairpin', async () => {
    assert.equal(await tcp(A.ns, GATEWAY, 18080), GATEWAY);
  });

  test('from a container of another ctnet network: reachable, its address kept', async () => {
    assert.equal(await tcp(C.ns, C.gateway, 18080), C.addr);
    assert.equal(await tcp(C.ns, UPLINK.hostAddr, 18080), C.addr);
    // Only the published port: the networks stay isolated.
    assert.equal(await tcp(C.ns, A.addr, 80), 'TIMEOUT');
    // And the other way round, to C's published port.
    assert.equal(await tcp(A.ns, GATEWAY, 18090), A.addr);
  });

  test('ports not published are not reachable from outside', async () => {
    // The host answers itself: nothing was DNATed.
    assert.equal(await tcp(UPLINK.ns, UPLINK.hostAddr, 18081), 'ERROR ECONNREFUSED');
    // The container directly: dropped by the nat network's in-chain.
    assert.equal(await tcp(UPLINK.ns, A.addr, 80), 'TIMEOUT');
  });

  test('a port published on one host address answers there only', async () => {
    assert.equal(await tcp(UPLINK.ns, UPLINK.hostAddr, 18082), UPLINK.addr);
    assert.equal(await tcp('host', UPLINK.hostAddr, 18082), UPLINK.hostAddr);
    assert.equal(await tcp('host', '127.0.0.1', 18082), 'ERROR ECONNREFUSED');
    assert.equal(await tcp(B.ns, GATEWAY, 18082), 'ERROR ECONNREFUSED');
  });

  test('udp: reachable, the client address kept', async () => {
    assert.equal(await udp(UPLINK.ns, UPLINK.hostAddr, 18053), UPLINK.addr);
    assert.equal(await udp(B.ns, GATEWAY, 18053), GATEWAY);
  });

  test('setupPorts() again changes nothing', async () => {
    const before = await pubElements();
    await fw.setupPorts(EP_A);
    assert.deepEqual(await pubElements(), before);
  });

  test('setupPorts() of a host port published elsewhere fails with EEXIST and adds nothing', async () => {
    const before = await pubElements();
    const other: FirewallEndpoint = {
      id: 'eb02',
      networkId: NET_A.id,
      ports: [
        { family: 4, protocol: 'tcp', hostPort: 18070, containerIp: parseIp(B.addr), containerPort: 80 },
        { ...TCP_ANY, containerIp: parseIp(B.addr) },
      ],
    };
    await assert.rejects(fw.setupPorts(other), (err: unknown) => {
      assert.ok(isAlreadyExists(err), String(err));
      assert.match(String(err), /publish ports of endpoint "eb02"/);
      return true;
    });
    assert.deepEqual(await pubElements(), before);
  });

  test('teardownPorts() unpublishes, leaves other endpoints alone, and twice is fine', async () => {
    await fw.teardownPorts(EP_A);
    const left = await pubElements();
    assert.deepEqual(left.filter((e) => e.includes('ea01')), []);
    assert.equal(left.filter((e) => e.endsWith('(ctnet ep ec03)')).length, 2);
    assert.equal(await tcp(UPLINK.ns, UPLINK.hostAddr, 18080), 'ERROR ECONNREFUSED');
    assert.equal(await tcp('host', '127.0.0.1', 18080), 'ERROR ECONNREFUSED');
    assert.equal(await udp(UPLINK.ns, UPLINK.hostAddr, 18053), 'TIMEOUT');
    await fw.teardownPorts(EP_A);
    assert.deepEqual(await pubElements(), left);
  });

  test('teardownPorts() after someone removed one of its elements removes the rest', async () => {
    await fw.setupPorts(EP_A);
    await sh('nft', ['delete', 'element', 'inet', 'ctnet', 'pub4_any_addr', '{ tcp . 18080 }']);
    await fw.teardownPorts(EP_A);
    assert.deepEqual((await pubElements()).filter((e) => e.includes('ea01')), []);
  });

  test('1000 mappings go in one transaction and a lookup still answers', async () => {
    const ports: PortMapping[] = [];
    for (let hostPort = 20000; hostPort < 21000; hostPort++) ports.push({ ...TCP_ANY, hostPort });
    const big: FirewallEndpoint = { id: 'eb1c', networkId: NET_A.id, ports };
    await fw.setupPorts(big);
    const mine = (await pubElements()).filter((e) => e.endsWith('(ctnet ep eb1c)'));
    assert.equal(mine.filter((e) => e.startsWith('pub4_any_addr ')).length, 1000);
    assert.equal(mine.filter((e) => e.startsWith('pub4_any_port ')).length, 1000);
    assert.equal(await tcp(UPLINK.ns, UPLINK.hostAddr, 20999), UPLINK.addr);
    assert.equal(await tcp(UPLINK.ns, UPLINK.hostAddr, 20000), UPLINK.addr);
    await fw.teardownPorts(big);
    assert.deepEqual((await pubElements()).filter((e) => e.includes('eb1c')), []);
  });

  test('the table outlives the networks while ports are published, and goes with the last of them', async () => {
    await fw.teardownNetwork(NET_A);
    await fw.teardownNetwork(NET_C);
    assert.equal(await hasCtnetTable(), true);
    assert.deepEqual(await pubElements(), [
      'pub4_any_addr tcp . 18090 -> 10.97.0.2 (ctnet ep ec03)',
      'pub4_any_port tcp . 18090 -> 80 (ctnet ep ec03)',
    ]);
    await fw.teardownPorts(EP_C);
    assert.deepEqual(await pubElements(), []);
    await fw.teardownNetwork(NET_C);
    assert.equal(await hasCtnetTable(), false);
    await fw.teardownPorts(EP_C);
  });
}
