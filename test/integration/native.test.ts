/**
 * Tests of the native addon against the real kernel. They create a named namespace under /run/netns,
 * so they run only as root inside scripts/sandbox.sh (a private network + mount namespace with a tmpfs
 * on /run/netns); anywhere else they are skipped. Assertions use `ip`, `sysctl` and /proc as oracles.
 *
 *   scripts/sandbox.sh node --test dist/src/native/binding.test.js
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';

import { isNativeError, native } from '../../src/native/binding.js';

const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const IFLA_IFNAME = 3;
const IFF_UP = 0x1;
const O_CLOEXEC = 0o2000000; // as /proc/PID/fdinfo shows it; node:fs has no constant for it

const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : process.env['CTNET_SANDBOX'] !== '1'
      ? 'creates namespaces: run it through scripts/sandbox.sh'
      : false;

function run(file: string, args: readonly string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The calling thread's network namespace, e.g. `net:[4026531840]`. */
function currentNetns(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}

/** RTM_GETLINK dump request: nlmsghdr (16 bytes) + an all-zero ifinfomsg (16 bytes). */
function getLinkDump(seq: number): Buffer {
  const request = Buffer.alloc(32);
  request.writeUInt32LE(32, 0); // nlmsg_len
  request.writeUInt16LE(RTM_GETLINK, 4); // nlmsg_type
  request.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6); // nlmsg_flags
  request.writeUInt32LE(seq, 8); // nlmsg_seq
  request.writeUInt32LE(0, 12); // nlmsg_pid
  return request;
}

interface Message {
  type: number;
  seq: number;
  pid: number;
  body: Buffer;
}

function splitMessages(datagram: Buffer): Message[] {
  const messages: Message[] = [];
  for (let offset = 0; offset + 16 <= datagram.length; ) {
    const length = datagram.readUInt32LE(offset);
    assert.ok(length >= 16 && offset + length <= datagram.length, `bad nlmsg_len ${length}`);
    messages.push({
      type: datagram.readUInt16LE(offset + 4),
      seq: datagram.readUInt32LE(offset + 8),
      pid: datagram.readUInt32LE(offset + 12),
      body: datagram.subarray(offset + 16, offset + length),
    });
    offset += (length + 3) & ~3;
  }
  return messages;
}

interface LinkInfo {
  index: number;
  flags: number;
  name: string | undefined;
}

/** ifinfomsg {family u8, pad u8, type u16, index s32, flags u32, change u32} + IFLA_IFNAME. */
function parseLink(body: Buffer): LinkInfo {
  let name: string | undefined;
  for (let offset = 16; offset + 4 <= body.length; ) {
    const length = body.readUInt16LE(offset);
    const type = body.readUInt16LE(offset + 2) & 0x3fff;
    if (length < 4) break;
    if (type === IFLA_IFNAME) name = body.toString('latin1', offset + 4, offset + length).replace(/\0.*$/s, '');
    offset += (length + 3) & ~3;
  }
  return { index: body.readInt32LE(4), flags: body.readUInt32LE(8), name };
}

/** Sends an RTM_GETLINK dump on a fresh socket in `nsFd` and returns every link until NLMSG_DONE. */
function dumpLinks(nsFd: number): LinkInfo[] {
  const fd = native.netlinkOpen(nsFd, NETLINK_ROUTE);
  try {
    const portId = native.netlinkPortId(fd);
    assert.ok(portId > 0, 'the kernel assigns a port id at bind');
    const seq = 4242;
    native.netlinkSend(fd, getLinkDump(seq));
    const links: LinkInfo[] = [];
    for (;;) {
      const datagram = native.netlinkRecv(fd, 1000);
      assert.ok(datagram !== null, 'the dump ends with NLMSG_DONE before the timeout');
      for (const message of splitMessages(datagram)) {
        assert.equal(message.seq, seq);
        assert.equal(message.pid, portId);
        if (message.type === NLMSG_DONE) {
          const started = performance.now();
          assert.equal(native.netlinkRecv(fd, 50), null, 'an idle socket times out');
          assert.ok(performance.now() - started >= 40, 'netlinkRecv waited for the timeout');
          return links;
        }
        assert.notEqual(message.type, NLMSG_ERROR, 'the dump is not refused');
        assert.equal(message.type, RTM_NEWLINK);
        links.push(parseLink(message.body));
      }
    }
  } finally {
    native.close(fd);
  }
}

function assertNativeError(fn: () => unknown, expected: { code: string; errno: number; syscall: string }) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isNativeError(err), `not a native error: ${String(err)}`);
    assert.equal(err.code, expected.code);
    assert.equal(err.errno, expected.errno);
    assert.equal(err.syscall, expected.syscall);
    assert.match(err.message, new RegExp(`^${expected.syscall} failed: \\S`));
    return true;
  });
}

/** Runs `node -e script nsPath ...args` and returns its stdout. */
function runChild(script: string, args: readonly string[]): string {
  const bindingUrl = new URL('../../src/native/binding.js', import.meta.url).href;
  const source = `import { native, isNativeError } from ${JSON.stringify(bindingUrl)};\n${script}`;
  return run(process.execPath, ['--input-type=module', '-e', source, ...args]);
}

/** Every test carries the skip reason, so that a skipped run reports each test as skipped. */
function test(name: string, fn: () => void | Promise<void>): void {
  it(name, { skip }, fn);
}

/** dumpLinks with netlinkSendAsync / netlinkRecvAsync; also counts event-loop turns meanwhile. */
async function dumpLinksAsync(nsFd: number): Promise<{ links: LinkInfo[]; turns: number }> {
  const fd = native.netlinkOpen(nsFd, NETLINK_ROUTE);
  let turns = 0;
  const spin = setInterval(() => turns++, 1);
  try {
    const seq = 4343;
    await native.netlinkSendAsync(fd, getLinkDump(seq));
    const links: LinkInfo[] = [];
    for (;;) {
      const datagram = await native.netlinkRecvAsync(fd, 1000);
      assert.ok(datagram !== null, 'the dump ends with NLMSG_DONE before the timeout');
      for (const message of splitMessages(datagram)) {
        assert.equal(message.seq, seq);
        if (message.type === NLMSG_DONE) {
          const started = performance.now();
          const before = turns;
          assert.equal(await native.netlinkRecvAsync(fd, 100), null, 'an idle socket times out');
          assert.ok(performance.now() - started >= 90, 'netlinkRecvAsync waited for the timeout');
          assert.ok(turns - before >= 10, `timers ran while it waited (${turns - before} turns)`);
          return { links, turns };
        }
        assert.equal(message.type, RTM_NEWLINK);
        links.push(parseLink(message.body));
      }
    }
  } finally {
    clearInterval(spin);
    native.close(fd);
  }
}

describe('native binding', () => {
  const name = `ctnet-native-test-${process.pid}`;
  const nsPath = `/run/netns/${name}`;
  const key = 'net/ipv4/ip_forward';
  let home = '';
  let nsFd = -1;

  before(() => {
    home = currentNetns();
  });

  afterEach(() => {
    assert.equal(currentNetns(), home, 'the main thread is back in its own namespace');
  });

  after(() => {
    if (nsFd >= 0) closeSync(nsFd);
    if (existsSync(nsPath)) native.netnsDelete(nsPath);
  });

  test('netnsCreate makes a namespace that ip netns sees and uses', () => {
    native.netnsCreate(nsPath);
    assert.ok(run('ip', ['netns', 'list']).split('\n').some((line) => line.split(' ')[0] === name));
    const links = JSON.parse(run('ip', ['netns', 'exec', name, 'ip', '-j', 'link'])) as { ifname: string }[];
    assert.deepEqual(
      links.map((link) => link.ifname),
      ['lo'],
    );
    nsFd = openSync(nsPath, 'r');
    assert.notEqual(`net:[${statSync(nsPath).ino}]`, home);
  });

  test('netnsCreate on an existing name throws EEXIST and changes nothing', () => {
    const inode = statSync(nsPath).ino;
    assertNativeError(() => { native.netnsCreate(nsPath); }, { code: 'EEXIST', errno: 17, syscall: 'open' });
    assert.equal(statSync(nsPath).ino, inode);
  });

  test('a netlink socket opened in the namespace dumps only its lo', () => {
    const links = dumpLinks(nsFd);
    assert.equal(links.length, 1);
    assert.equal(links[0]?.index, 1);
    assert.equal(links[0]?.name, 'lo');
    // `ip netns add` leaves lo down; sandbox.sh brought the sandbox's own lo up.
    assert.equal((links[0]?.flags ?? 0) & IFF_UP, 0);
    const here = dumpLinks(-1).find((link) => link.index === 1);
    assert.equal(here?.name, 'lo');
    assert.equal((here?.flags ?? 0) & IFF_UP, IFF_UP);
  });

  test('netlinkSendAsync/netlinkRecvAsync dump the namespace as the sync calls do, off the event loop', async () => {
    const { links } = await dumpLinksAsync(nsFd);
    assert.deepEqual(links, dumpLinks(nsFd));
  });

  test('netlinkNetns gives the namespace a socket lives in, close-on-exec', () => {
    const fd = native.netlinkOpen(nsFd, NETLINK_ROUTE);
    let socketNs = -1;
    try {
      socketNs = native.netlinkNetns(fd);
      assert.equal(fstatSync(socketNs).ino, statSync(nsPath).ino);
      const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${socketNs}`, 'utf8'))?.[1];
      assert.ok(flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) !== 0, `O_CLOEXEC in ${flags}`);
      // A socket opened through it works in that namespace: only its lo.
      assert.deepEqual(dumpLinks(socketNs).map((link) => link.name), ['lo']);
    } finally {
      if (socketNs >= 0) native.close(socketNs);
      native.close(fd);
    }
    assertNativeError(() => native.netlinkNetns(999_999), { code: 'EBADF', errno: 9, syscall: 'ioctl' });
  });

  test('sysctlWrite/sysctlRead change the namespace and not the caller', () => {
    const outside = native.sysctlRead(-1, key);
    assert.equal(outside, run('sysctl', ['-n', 'net.ipv4.ip_forward']).trim());
    const other = outside === '1' ? '0' : '1';
    native.sysctlWrite(nsFd, key, other);
    assert.equal(native.sysctlRead(nsFd, key), other);
    assert.equal(run('ip', ['netns', 'exec', name, 'sysctl', '-n', 'net.ipv4.ip_forward']).trim(), other);
    assert.equal(run('sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), outside);
    assert.equal(native.sysctlRead(-1, key), outside);

    // nsFd < 0 works in the caller's own (sandbox) namespace.
    native.sysctlWrite(-1, key, other);
    assert.equal(run('sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), other);
    native.sysctlWrite(-1, key, outside);
    assert.equal(run('sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), outside);
  });

  test('execInNetns runs the command in the namespace with default signals', () => {
    const script = String.raw`
      import { openSync } from 'node:fs';
      native.execInNetns(openSync(process.argv[1], 'r'), process.argv.slice(2));`;
    const inode = statSync(nsPath).ino;
    assert.equal(runChild(script, [nsPath, 'readlink', '/proc/self/ns/net']).trim(), `net:[${inode}]`);
    // Node ignores SIGPIPE; the command must not inherit that (nor a blocked mask).
    const status = runChild(script, [nsPath, 'grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status']);
    assert.match(status, /^SigBlk:\s+0+$/m);
    assert.match(status, /^SigIgn:\s+0+$/m);
  });

  test('execInNetns of a missing command throws ENOENT from execvp and undoes everything', () => {
    // The child reports its namespace, ignored signals and stdio flags before and after the attempt.
    const script = String.raw`
      import { openSync, readFileSync, readlinkSync } from 'node:fs';
      const field = (file, name) => new RegExp('^' + name + ':\\s+(\\S+)$', 'm').exec(readFileSync(file, 'utf8'))?.[1];
      const snapshot = () => ({
        ns: readlinkSync('/proc/thread-self/ns/net'),
        ignored: field('/proc/thread-self/status', 'SigIgn'),
        stdio: [0, 1, 2].map((fd) => field('/proc/thread-self/fdinfo/' + fd, 'flags')),
      });
      const before = snapshot();
      try {
        native.execInNetns(openSync(process.argv[1], 'r'), ['ctnet-no-such-command-${process.pid}']);
      } catch (err) {
        const { code, errno, syscall, message } = err;
        console.log(JSON.stringify({ native: isNativeError(err), code, errno, syscall, message, before, after: snapshot() }));
      }`;
    const result = JSON.parse(runChild(script, [nsPath])) as Record<string, unknown>;
    const before = result['before'] as { ns: string; ignored: string; stdio: string[] };
    assert.match(before.ignored, /^[0-9a-f]{16}$/);
    assert.notEqual(before.ignored, '0000000000000000', 'Node ignores SIGPIPE');
    assert.equal(before.stdio.length, 3);
    for (const flags of before.stdio) assert.match(flags, /^[0-7]+$/);
    assert.deepEqual(result, {
      native: true,
      code: 'ENOENT',
      errno: 2,
      syscall: 'execvp',
      message: 'execvp failed: No such file or directory',
      before,
      after: before,
    });
  });

  test('errors carry code, errno and syscall', () => {
    assertNativeError(() => native.netlinkOpen(999_999, NETLINK_ROUTE), { code: 'EBADF', errno: 9, syscall: 'setns' });
    const notNetns = openSync('/proc/self/status', 'r');
    try {
      assertNativeError(() => native.sysctlRead(notNetns, key), { code: 'EINVAL', errno: 22, syscall: 'setns' });
      assertNativeError(() => native.netlinkNetns(notNetns), { code: 'ENOTTY', errno: 25, syscall: 'ioctl' });
    } finally {
      closeSync(notNetns);
    }
    assertNativeError(() => native.sysctlRead(-1, 'net/ipv4/ctnet_no_such_key'), {
      code: 'ENOENT',
      errno: 2,
      syscall: 'open',
    });
    assertNativeError(() => { native.sysctlWrite(nsFd, 'net/ipv4/ip_forward', 'not-a-number'); }, {
      code: 'EINVAL',
      errno: 22,
      syscall: 'write',
    });
    assertNativeError(() => { native.netnsDelete('/run/netns/ctnet-no-such-netns'); }, {
      code: 'ENOENT',
      errno: 2,
      syscall: 'umount2',
    });
    assertNativeError(() => { native.close(999_999); }, { code: 'EBADF', errno: 9, syscall: 'close' });
    assertNativeError(() => { native.netlinkSend(999_999, Buffer.alloc(16)); }, {
      code: 'EBADF',
      errno: 9,
      syscall: 'sendto',
    });
    // Programming errors are TypeErrors, not system errors.
    assert.throws(() => native.sysctlRead(-1, '../../etc/passwd'), TypeError);
    assert.throws(() => native.netlinkOpen(Number.NaN, NETLINK_ROUTE), TypeError);
    assert.throws(() => { native.netlinkSend(0, 'text' as unknown as Uint8Array); }, TypeError);
    assert.throws(() => { native.netnsCreate('relative/path'); }, TypeError);
    assert.throws(() => native.execInNetns(nsFd, []), TypeError);
  });

  test('netnsDelete removes the namespace', () => {
    closeSync(nsFd);
    nsFd = -1;
    native.netnsDelete(nsPath);
    assert.equal(existsSync(nsPath), false);
    assert.ok(!run('ip', ['netns', 'list']).split('\n').some((line) => line.split(' ')[0] === name));
    assertNativeError(() => { native.netnsDelete(nsPath); }, { code: 'ENOENT', errno: 2, syscall: 'umount2' });
  });
});
