/**
 * Bad input through the real `ctnet` executable: every refused command fails with one `ctnet: `
 * line on stderr that names the problem, prints nothing on stdout, exits 2 (a refusal: invalid
 * input, a conflict, a missing object, a full subnet), and changes nothing: the sandbox's links, addresses, routes,
 * nftables and namespaces, ctnet's state, and the containers' own interfaces are the same before
 * and after. Judged with `ip -j` / `nft -j` and ctnet's `--json` listings.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  cli,
  containerSnapshot,
  ctnetStateDir,
  foreignLink,
  newNetns,
  sandboxSkipReason,
  sh,
  stableHostSnapshot,
  waitForDad,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

/** What exists while every case runs. */
interface World {
  stateDir: string;
  /** Connected to network `taken` (10.80.1.0/24) as eth0 with 10.80.1.2. */
  connected: string;
  /** Connected to nothing. */
  free: string;
  /** A name no namespace has. */
  missing: string;
  /** A non-ctnet interface in the sandbox. */
  foreign: string;
}

interface BadCase {
  name: string;
  args: (w: World) => string[];
  /** 2: invalid input; 1: conflict with or absence of something that exists (or not). */
  exit: 1 | 2;
  /** The key phrase that must name the problem. */
  message: RegExp;
}

/** A RegExp matching `text` literally. */
function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
}

/** Subnets that can never be a container network, and the reserved range each is refused for. */
const RESERVED_SUBNETS: readonly [subnet: string, range: string][] = [
  ['127.0.0.0/8', 'loopback addresses (127.0.0.0/8)'],
  ['127.0.0.0/24', 'loopback addresses (127.0.0.0/8)'],
  ['::1/128', 'the loopback address (::1/128)'],
  ['169.254.0.0/16', 'link-local addresses (169.254.0.0/16)'],
  ['fe80::/10', 'link-local addresses (fe80::/10)'],
  ['fe80::/64', 'link-local addresses (fe80::/10)'],
  ['224.0.0.0/4', 'multicast addresses (224.0.0.0/4)'],
  ['239.1.0.0/16', 'multicast addresses (224.0.0.0/4)'],
  ['ff00::/8', 'multicast addresses (ff00::/8)'],
  ['0.0.0.0/8', '"this network" addresses (0.0.0.0/8)'],
  ['240.0.0.0/4', 'reserved addresses and the limited broadcast address (240.0.0.0/4)'],
  ['255.255.255.0/24', 'reserved addresses and the limited broadcast address (240.0.0.0/4)'],
  ['0.0.0.0/0', '"this network" addresses (0.0.0.0/8)'],
  ['::/0', 'the unspecified address (::/128)'],
  ['::/128', 'the unspecified address (::/128)'],
  ['::ffff:0:0/96', 'IPv4-mapped addresses (::ffff:0.0.0.0/96)'],
];

const CASES: readonly BadCase[] = [
  // network create: subnets
  { name: 'subnet with an octet > 255', args: () => ['network', 'create', 'n1', '--subnet', '10.80.300.0/24'], exit: 2, message: /invalid subnet "10\.80\.300\.0\/24"/ },
  { name: 'subnet that is no address', args: () => ['network', 'create', 'n1', '--subnet', 'nonsense'], exit: 2, message: /invalid subnet "nonsense"/ },
  { name: 'subnet with host bits', args: () => ['network', 'create', 'n1', '--subnet', '10.80.2.5/24'], exit: 2, message: /host bits set, did you mean "10\.80\.2\.0\/24"/ },
  { name: 'subnet without prefix', args: () => ['network', 'create', 'n1', '--subnet', '10.80.2.0'], exit: 2, message: /missing prefix length/ },
  { name: 'subnet prefix > 32', args: () => ['network', 'create', 'n1', '--subnet', '10.80.2.0/33'], exit: 2, message: /invalid subnet "10\.80\.2\.0\/33"/ },
  { name: 'subnet /31 (no container address)', args: () => ['network', 'create', 'n1', '--subnet', '10.80.2.0/31'], exit: 2, message: /too small/ },
  { name: 'two IPv4 subnets', args: () => ['network', 'create', 'n1', '--subnet', '10.80.2.0/24', '--subnet', '10.80.3.0/24'], exit: 2, message: /more than one IPv4 subnet/ },
  { name: 'no subnet', args: () => ['network', 'create', 'n1'], exit: 2, message: /required option '--subnet <cidr>' not specified/ },
  { name: 'subnet inside another ctnet network', args: () => ['network', 'create', 'n1', '--subnet', '10.80.1.128/25'], exit: 2, message: /overlaps subnet "10\.80\.1\.0\/24" of network "taken"/ },
  { name: 'subnet around another ctnet network', args: () => ['network', 'create', 'n1', '--subnet', '10.80.0.0/16'], exit: 2, message: /overlaps subnet "10\.80\.[16]\.0\/24" of network "(taken|p2p)"/ },
  { name: 'subnet inside another ptp network', args: () => ['network', 'create', 'n1', '--subnet', '10.80.6.0/25'], exit: 2, message: /overlaps subnet "10\.80\.6\.0\/24" of network "p2p"/ },
  { name: 'subnet the host already routes', args: () => ['network', 'create', 'n1', '--subnet', '10.81.5.0/24'], exit: 2, message: /overlaps the host route 10\.81\.0\.0\/16/ },
  // network create: reserved ranges
  ...RESERVED_SUBNETS.map(([subnet, range]): BadCase => ({
    name: `reserved subnet ${subnet}`,
    args: () => ['network', 'create', 'n1', '--subnet', subnet],
    exit: 2,
    message: literal(`invalid subnet "${subnet}": ${range} cannot be in a container network`),
  })),
  { name: 'reserved second subnet', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--subnet', 'fe80::/64'], exit: 2, message: /invalid subnet "fe80::\/64": link-local addresses/ },
  // network create: names and options
  { name: 'duplicate network name', args: () => ['network', 'create', 'taken', '--subnet', '10.80.3.0/24'], exit: 2, message: /network "taken" already exists/ },
  { name: 'network name with a space', args: () => ['network', 'create', 'bad name', '--subnet', '10.80.3.0/24'], exit: 2, message: /invalid network name "bad name"/ },
  { name: 'network name with a slash', args: () => ['network', 'create', 'a/b', '--subnet', '10.80.3.0/24'], exit: 2, message: /invalid network name "a\/b"/ },
  { name: 'network name starting with a dash', args: () => ['network', 'create', '--subnet', '10.80.3.0/24', '--', '-net'], exit: 2, message: /invalid network name "-net"/ },
  { name: 'bridge name of 16 bytes', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--bridge', 'abcdefghijklmnop'], exit: 2, message: /invalid bridge name "abcdefghijklmnop": longer than 15 bytes/ },
  { name: 'bridge name of another network', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--bridge', 'ct-taken'], exit: 2, message: /bridge "ct-taken" is already used by network "taken"/ },
  { name: 'bridge name of a non-ctnet interface', args: (w) => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--bridge', w.foreign], exit: 2, message: /already used by an existing interface/ },
  { name: 'gateway outside the subnet', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--gateway', '10.80.4.1'], exit: 2, message: /gateway "10\.80\.4\.1" is not in subnet "10\.80\.3\.0\/24"/ },
  { name: 'gateway = network address', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--gateway', '10.80.3.0'], exit: 2, message: /gateway "10\.80\.3\.0" is the network address/ },
  { name: 'gateway = broadcast address', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--gateway', '10.80.3.255'], exit: 2, message: /gateway "10\.80\.3\.255" is the broadcast address/ },
  { name: 'gateway that is no address', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--gateway', 'router'], exit: 2, message: /invalid IP address "router"/ },
  { name: '--mtu 10', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--mtu', '10'], exit: 2, message: /invalid MTU 10/ },
  { name: '--mtu that is no number', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--mtu', 'big'], exit: 2, message: /--mtu.*expected a number, got "big"/ },
  { name: 'unknown driver', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--driver', 'macvlan'], exit: 2, message: /--driver.*expected bridge or ptp, got "macvlan"/ },
  { name: '--bridge with the ptp driver', args: () => ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--driver', 'ptp', '--bridge', 'br9'], exit: 2, message: /--bridge "br9" only applies to the bridge driver/ },
  // connect
  { name: 'connect to an unknown network', args: (w) => ['connect', 'nope', w.free], exit: 2, message: /network "nope" not found/ },
  { name: 'connect a namespace that does not exist', args: (w) => ['connect', 'taken', w.missing], exit: 2, message: /container "[^"]+" not found/ },
  { name: 'connect pid:999999', args: () => ['connect', 'taken', 'pid:999999'], exit: 2, message: /container "pid:999999" not found/ },
  { name: 'connect a file that is no namespace', args: () => ['connect', 'taken', '/etc/hostname'], exit: 2, message: /\/etc\/hostname is not a network namespace/ },
  { name: 'connect a path that does not exist', args: () => ['connect', 'taken', '/nonexistent/netns'], exit: 2, message: /container "\/nonexistent\/netns" not found/ },
  { name: 'connect pid:abc', args: () => ['connect', 'taken', 'pid:abc'], exit: 2, message: /invalid container "pid:abc"/ },
  { name: '--ip outside the subnet', args: (w) => ['connect', 'taken', w.free, '--ip', '10.80.9.2'], exit: 2, message: /address "10\.80\.9\.2" is not in subnet "10\.80\.1\.0\/24"/ },
  { name: '--ip of the other family', args: (w) => ['connect', 'taken', w.free, '--ip', 'fd80::2'], exit: 2, message: /address "fd80::2" is not in any subnet of network "taken"/ },
  { name: '--ip = the gateway', args: (w) => ['connect', 'taken', w.free, '--ip', '10.80.1.1'], exit: 2, message: /address "10\.80\.1\.1" is the gateway address/ },
  { name: '--ip = the broadcast address', args: (w) => ['connect', 'taken', w.free, '--ip', '10.80.1.255'], exit: 2, message: /address "10\.80\.1\.255" is the broadcast address/ },
  { name: '--ip already taken', args: (w) => ['connect', 'taken', w.free, '--ip', '10.80.1.2'], exit: 2, message: /address "10\.80\.1\.2" is already in use/ },
  { name: '--ip that is no address', args: (w) => ['connect', 'taken', w.free, '--ip', 'bogus'], exit: 2, message: /invalid IP address "bogus"/ },
  { name: 'connect the same container twice', args: (w) => ['connect', 'taken', w.connected], exit: 2, message: /is already connected to network "taken"/ },
  { name: 'connect the same container twice, by path', args: (w) => ['connect', 'taken', `/run/netns/${w.connected}`], exit: 2, message: /is already connected to network "taken"/ },
  { name: '--mac multicast', args: (w) => ['connect', 'taken', w.free, '--mac', '01:00:5e:00:00:01'], exit: 2, message: /MAC address "01:00:5e:00:00:01" is not a unicast address/ },
  { name: '--mac broadcast', args: (w) => ['connect', 'taken', w.free, '--mac', 'ff:ff:ff:ff:ff:ff'], exit: 2, message: /not a unicast address/ },
  { name: '--mac zz', args: (w) => ['connect', 'taken', w.free, '--mac', 'zz'], exit: 2, message: /invalid MAC address "zz"/ },
  { name: '--ifname of 16 bytes', args: (w) => ['connect', 'taken', w.free, '--ifname', 'abcdefghijklmnop'], exit: 2, message: /invalid interface name "abcdefghijklmnop": longer than 15 bytes/ },
  { name: '--ifname with a colon', args: (w) => ['connect', 'taken', w.free, '--ifname', 'eth:0'], exit: 2, message: /invalid interface name "eth:0"/ },
  { name: '--ifname already in the container (lo)', args: (w) => ['connect', 'taken', w.free, '--ifname', 'lo'], exit: 2, message: /interface "lo" already exists in container/ },
  { name: '--ifname already in the container (eth0)', args: (w) => ['connect', 'p2p', w.connected, '--ifname', 'eth0'], exit: 2, message: /interface "eth0" already exists in container/ },
  { name: 'no free address in a /30', args: (w) => ['connect', 'tiny', w.free], exit: 2, message: /no free address left in subnet "10\.80\.5\.0\/30"/ },
  // disconnect, rm, inspect
  { name: 'disconnect a container that is not connected', args: (w) => ['disconnect', 'taken', w.free], exit: 2, message: /container "[^"]+" is not connected to network "taken"/ },
  { name: 'disconnect from an unknown network', args: (w) => ['disconnect', 'nope', w.connected], exit: 2, message: /network "nope" not found/ },
  { name: 'rm a network with endpoints', args: () => ['network', 'rm', 'taken'], exit: 2, message: /network "taken" still has 1 endpoint/ },
  { name: 'rm an unknown network', args: () => ['network', 'rm', 'nope'], exit: 2, message: /network "nope" not found/ },
  { name: 'inspect an unknown network', args: () => ['network', 'inspect', 'nope'], exit: 2, message: /network "nope" not found/ },
  // named namespaces
  { name: 'netns add of an existing name', args: (w) => ['netns', 'add', w.free], exit: 2, message: /network namespace "[^"]+" already exists/ },
  { name: 'netns del of an unknown name', args: (w) => ['netns', 'del', w.missing], exit: 2, message: /network namespace "[^"]+" not found/ },
  { name: 'netns add with a slash', args: () => ['netns', 'add', 'a/b'], exit: 2, message: /invalid network namespace name "a\/b"/ },
  { name: 'netns add with a newline', args: () => ['netns', 'add', 'a\nb'], exit: 2, message: /invalid network namespace name "a\\nb": must not contain whitespace or control characters, found U\+000A/ },
  { name: 'netns add with a trailing newline', args: () => ['netns', 'add', 'net1\n'], exit: 2, message: /invalid network namespace name "net1\\n"/ },
  { name: 'netns add with a tab', args: () => ['netns', 'add', 'a\tb'], exit: 2, message: /invalid network namespace name "a\\tb": must not contain whitespace or control characters, found U\+0009/ },
  { name: 'netns add with a space', args: () => ['netns', 'add', 'a b'], exit: 2, message: /invalid network namespace name "a b": must not contain whitespace/ },
  { name: 'netns add with DEL', args: () => ['netns', 'add', 'a\u007fb'], exit: 2, message: /found U\+007F/ },
  { name: 'netns add -- -rf', args: () => ['netns', 'add', '--', '-rf'], exit: 2, message: /invalid network namespace name "-rf": must not start with "-"/ },
  { name: 'netns add -- --help', args: () => ['netns', 'add', '--', '--help'], exit: 2, message: /invalid network namespace name "--help": must not start with "-"/ },
  { name: 'netns add -1 (a negative number is an operand)', args: () => ['netns', 'add', '-1'], exit: 2, message: /invalid network namespace name "-1": must not start with "-"/ },
  { name: 'netns add -rf', args: () => ['netns', 'add', '-rf'], exit: 2, message: /^ctnet: unknown option '-rf'\n$/ },
  { name: 'netns del -rf', args: () => ['netns', 'del', '-rf'], exit: 2, message: /^ctnet: unknown option '-rf'\n$/ },
  { name: 'netns del -- -rf', args: () => ['netns', 'del', '--', '-rf'], exit: 2, message: /invalid network namespace name "-rf": must not start with "-"/ },
  { name: 'netns del with a newline', args: () => ['netns', 'del', 'a\nb'], exit: 2, message: /invalid network namespace name "a\\nb"/ },
  { name: 'exec -rf', args: () => ['exec', '-rf', '--', 'true'], exit: 2, message: /^ctnet: unknown option '-rf'\n$/ },
  { name: 'exec in -- -rf', args: () => ['exec', '--', '-rf', 'true'], exit: 2, message: /invalid network namespace name "-rf": must not start with "-"/ },
  { name: 'exec in a name with a tab', args: () => ['exec', 'a\tb', '--', 'true'], exit: 2, message: /invalid network namespace name "a\\tb"/ },
  { name: 'connect a container name with a newline', args: () => ['connect', 'taken', 'a\nb'], exit: 2, message: /invalid network namespace name "a\\nb"/ },
  { name: 'connect -- -rf', args: () => ['connect', 'taken', '--', '-rf'], exit: 2, message: /invalid network namespace name "-rf": must not start with "-"/ },
  { name: 'connect -rf', args: () => ['connect', 'taken', 'x', '-rf'], exit: 2, message: /^ctnet: unknown option '-rf'\n$/ },
  // the command line itself
  { name: 'unknown command', args: () => ['frobnicate'], exit: 2, message: /unknown command 'frobnicate'/ },
  { name: 'unknown option', args: () => ['network', 'ls', '--frobnicate'], exit: 2, message: /unknown option '--frobnicate'/ },
  { name: 'missing argument', args: () => ['connect', 'taken'], exit: 2, message: /missing required argument 'container'/ },
];

/** Everything a refused command must leave as it was. */
async function snapshot(w: World): Promise<Record<string, string>> {
  await waitForDad([w.connected, w.free]);
  const [host, nets, eps, connected, free] = await Promise.all([
    stableHostSnapshot(),
    cli(w.stateDir, ['--json', 'network', 'ls']),
    cli(w.stateDir, ['--json', 'ls']),
    containerSnapshot(w.connected),
    containerSnapshot(w.free),
  ]);
  assert.equal(nets.code, 0, nets.stderr);
  assert.equal(eps.code, 0, eps.stderr);
  return { host, networks: nets.stdout, endpoints: eps.stdout, connected, free };
}

async function ok(stateDir: string, args: readonly string[]): Promise<void> {
  const r = await cli(stateDir, args);
  assert.equal(r.code, 0, `ctnet ${args.join(' ')}: ${r.stderr}`);
}

test('refused commands say why, exit non-zero and change nothing', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const connected = await newNetns(t, 'bi');
  const free = await newNetns(t, 'bi');
  const tinyUser = await newNetns(t, 'bi');
  const foreign = `fx${process.pid % 100000}`;
  await foreignLink(t, foreign);
  // A route the sandbox host already has, not made by ctnet.
  await sh('ip', ['route', 'add', '10.81.0.0/16', 'dev', 'lo']);
  t.after(async () => {
    await sh('ip', ['route', 'del', '10.81.0.0/16', 'dev', 'lo']).catch(() => undefined);
  });
  await ok(stateDir, ['network', 'create', 'taken', '--subnet', '10.80.1.0/24']);
  await ok(stateDir, ['network', 'create', 'p2p', '--subnet', '10.80.6.0/24', '--driver', 'ptp']);
  await ok(stateDir, ['network', 'create', 'tiny', '--subnet', '10.80.5.0/30']);
  await ok(stateDir, ['connect', 'taken', connected]);
  await ok(stateDir, ['connect', 'tiny', tinyUser]);
  const w: World = { stateDir, connected, free, missing: `nosuch${process.pid}`, foreign };

  const eps = JSON.parse((await cli(stateDir, ['--json', 'ls'])).stdout) as { container: string; addresses: string[] }[];
  assert.deepEqual(eps.find((e) => e.container === connected)?.addresses, ['10.80.1.2/24']);
  assert.deepEqual(eps.find((e) => e.container === tinyUser)?.addresses, ['10.80.5.2/30']);

  // A refused command changes nothing, so the state after one case is the state before the next.
  let current = await snapshot(w);
  for (const c of CASES) {
    await t.test(c.name, async () => {
      const args = c.args(w);
      const before = current;
      const r = await cli(stateDir, args);
      const after = await snapshot(w);
      current = after;
      const what = `ctnet ${args.join(' ')}`;
      assert.notEqual(r.code, 0, `${what} succeeded: ${r.stdout}`);
      assert.equal(r.code, c.exit, `${what}: exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, /^ctnet: [^\n]+\n$/, `${what}: stderr is not one "ctnet: " line: ${JSON.stringify(r.stderr)}`);
      assert.match(r.stderr, c.message, what);
      assert.equal(r.stdout, '', `${what}: stdout`);
      for (const key of Object.keys(before)) assert.equal(after[key], before[key], `${what} changed ${key}`);
    });
  }
});

test('--help after a command shows its help, exits 0 and changes nothing', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const cases: [args: string[], usage: string][] = [
    [['netns', 'add', '--help'], 'Usage: ctnet netns add [options] <name>'],
    [['netns', 'add', 'net1', '-h'], 'Usage: ctnet netns add [options] <name>'],
    [['netns', 'del', '--help'], 'Usage: ctnet netns del|rm [options] <name>'],
    [['exec', '--help'], 'Usage: ctnet exec [options] <netns> <command...>'],
    [['connect', 'net1', '--help'], 'Usage: ctnet connect [options] <network> <container>'],
  ];
  const before = await stableHostSnapshot();
  for (const [args, usage] of cases) {
    const r = await cli(stateDir, args);
    const what = `ctnet ${args.join(' ')}`;
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assert.equal(r.stdout.split('\n')[0], usage, what);
    assert.equal(r.stderr, '', what);
  }
  // No namespace named "--help" or "-h" (nor anything else) was created.
  assert.equal(await stableHostSnapshot(), before);
});

test('--json errors are one JSON object with the error code', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const cases: { args: string[]; code: string; exit: number }[] = [
    { args: ['--json', 'network', 'create', 'n1', '--subnet', 'nonsense'], code: 'CTNET_INVALID_CONFIG', exit: 2 },
    { args: ['--json', 'network', 'inspect', 'nope'], code: 'CTNET_NOT_FOUND', exit: 2 },
    { args: ['network', 'rm', 'nope', '--json'], code: 'CTNET_NOT_FOUND', exit: 2 },
    // Usage errors found by the argument parser, in the same shape.
    { args: ['--json', 'frobnicate'], code: 'CTNET_INVALID_CONFIG', exit: 2 },
    { args: ['network', 'create', 'n1', '--subnet', '10.80.3.0/24', '--driver', 'macvlan', '--json'], code: 'CTNET_INVALID_CONFIG', exit: 2 },
  ];
  for (const c of cases) {
    const r = await cli(stateDir, c.args);
    assert.equal(r.code, c.exit, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    const err = JSON.parse(r.stderr) as { error: string; code: string };
    assert.equal(err.code, c.code);
    assert.equal(typeof err.error, 'string');
  }
});
