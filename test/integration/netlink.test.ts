/**
 * RtnlHandle, verb by verb, against the kernel: every change is made through the handle inside a
 * fresh namespace and checked with iproute2 (`ip -n NS -j ...`) and, where it matters, with real
 * packets. Errors are checked for their errno, operation, object and message.
 * Runs only as root inside scripts/sandbox.sh.
 */
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { NetlinkError, Netns, parseIp, parseNetnsRef, RtnlHandle } from '../../src/index.js';
import type { LinkInfo } from '../../src/index.js';
import { formatIp, type IpAddress } from '../../src/inet/ip.js';
import {
  type IpAddrInfo,
  ipJson,
  type IpLink,
  type IpRouteEntry,
  hostFootprint,
  links,
  neighbours,
  newNetns,
  ping,
  sandboxSkipReason,
  sh,
} from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

interface Opened {
  name: string;
  netns: Netns;
  h: RtnlHandle;
}

/** A fresh namespace and a handle working inside it, both closed after the test. */
async function fresh(t: TestContext): Promise<Opened> {
  const name = await newNetns(t, 'nl');
  // No IPv6 duplicate address detection: link-local addresses (and their local routes) appear at
  // once instead of a second later, so two listings taken one after the other agree.
  await sh('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  const netns = Netns.open(parseNetnsRef(name));
  const h = netns.openHandle();
  t.after(() => {
    h.close();
    netns.close();
  });
  return { name, netns, h };
}

interface IpLinkDetail extends IpLink {
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
}

async function linkDetail(ns: string, name: string): Promise<IpLinkDetail | undefined> {
  return (await ipJson<IpLinkDetail[]>(['-d', 'link', 'show'], ns)).find((l) => l.ifname === name);
}

function must<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} exists`);
  return value;
}

function index(h: RtnlHandle, name: string): number {
  return must(h.linkGet(name), `link ${name}`).index;
}

/** `ADDR/PREFIX` on one interface as iproute2 reports them. */
async function ipAddrsOn(ns: string, ifname: string): Promise<string[]> {
  const list = await ipJson<IpAddrInfo[]>(['addr', 'show'], ns);
  return (list.find((l) => l.ifname === ifname)?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort();
}

async function ipRoutes(ns: string): Promise<IpRouteEntry[]> {
  const [r4, r6] = await Promise.all([
    ipJson<IpRouteEntry[]>(['-4', 'route', 'show', 'table', 'all'], ns),
    ipJson<IpRouteEntry[]>(['-6', 'route', 'show', 'table', 'all'], ns),
  ]);
  return [...r4, ...r6];
}

/** The sandbox namespace itself is never touched by these tests (their own namespaces aside). */
async function sandboxUntouched(t: TestContext): Promise<void> {
  const footprint = async (): Promise<string[]> => (await hostFootprint()).filter((l) => !l.startsWith('netns '));
  const before = await footprint();
  t.after(async () => {
    assert.deepEqual(await footprint(), before, 'the sandbox namespace is unchanged');
  });
}

/** A veth `va` (in A) / `vb` (in B), both up, with 10.72.N.1/24 + fd00:72:N::1/64 here and .2 there. */
async function wire(a: Opened, b: Opened, n: number): Promise<{ va: number; vb: number }> {
  a.h.linkAdd({ kind: 'veth', name: 'va', up: true, peer: { name: 'vb', netnsFd: b.netns.fd } });
  const va = index(a.h, 'va');
  const vb = index(b.h, 'vb');
  b.h.linkSet(vb, { up: true });
  for (const [side, idx, host] of [[a, va, 1], [b, vb, 2]] as const) {
    side.h.addrAdd({ index: idx, ip: parseIp(`10.72.${n}.${host}`), prefix: 24 });
    side.h.addrAdd({ index: idx, ip: parseIp(`fd00:72:${n}::${host}`), prefix: 64, noDad: true });
    const lo = index(side.h, 'lo');
    side.h.linkSet(lo, { up: true });
  }
  return { va, vb };
}

function isNetlinkError(err: unknown, errnoName: string, op: string, object: string): boolean {
  assert.ok(err instanceof NetlinkError, `a NetlinkError, got ${String(err)}`);
  assert.equal(err.code, 'CTNET_NETLINK');
  assert.equal(err.errnoName, errnoName);
  assert.equal(err.op, op);
  assert.equal(err.object, object);
  return true;
}

describe('RtnlHandle against the kernel', { skip }, () => {
  test('linkAdd: a bridge, up, with mtu and mac', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    a.h.linkAdd({ kind: 'bridge', name: 'br0', mtu: 1400, mac: '02:00:00:00:01:01', up: true });
    const br = must(await linkDetail(a.name, 'br0'), 'br0 in ip link');
    assert.equal(br.linkinfo?.info_kind, 'bridge');
    assert.equal(br.linkinfo?.info_data?.['stp_state'], 0);
    assert.equal(br.mtu, 1400);
    assert.equal(br.address, '02:00:00:00:01:01');
    assert.ok(br.flags.includes('UP'));
    // The handle works inside its namespace only.
    assert.equal((await links()).some((l) => l.ifname === 'br0'), false, 'nothing in the sandbox');
  });

  test('linkAdd: a dummy', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    try {
      a.h.linkAdd({ kind: 'dummy', name: 'dum0', mtu: 1280 });
    } catch (err) {
      if (err instanceof NetlinkError && err.errnoName === 'EOPNOTSUPP') {
        const reason = `the kernel has no dummy link type (module dummy not available): ${err.message}`;
        t.diagnostic(reason);
        t.skip(reason);
        return;
      }
      throw err;
    }
    const dum = must(await linkDetail(a.name, 'dum0'), 'dum0 in ip link');
    assert.equal(dum.linkinfo?.info_kind, 'dummy');
    assert.equal(dum.mtu, 1280);
  });

  test('linkAdd: a veth whose peer is created inside another namespace', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    const b = await fresh(t);
    a.h.linkAdd({
      kind: 'veth',
      name: 'va',
      mtu: 1450,
      mac: '02:00:00:00:02:01',
      peer: { name: 'vb', mtu: 1450, mac: '02:00:00:00:02:02', netnsFd: b.netns.fd },
    });
    const namesA = (await links(a.name)).map((l) => l.ifname).sort();
    const namesB = (await links(b.name)).map((l) => l.ifname).sort();
    assert.deepEqual(namesA, ['lo', 'va'], 'only va here');
    assert.deepEqual(namesB, ['lo', 'vb'], 'the peer is there');
    const va = must(await linkDetail(a.name, 'va'), 'va');
    const vb = must(await linkDetail(b.name, 'vb'), 'vb');
    assert.equal(va.linkinfo?.info_kind, 'veth');
    assert.equal(vb.linkinfo?.info_kind, 'veth');
    assert.deepEqual([va.mtu, va.address, vb.mtu, vb.address], [1450, '02:00:00:00:02:01', 1450, '02:00:00:00:02:02']);
    assert.equal(typeof va.link_netnsid, 'number', 'va points to a peer in another namespace');
  });

  test('linkSet: up, mtu, mac, master, name', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    const b = await fresh(t);
    a.h.linkAdd({ kind: 'bridge', name: 'br0' });
    a.h.linkAdd({ kind: 'veth', name: 'va', peer: { name: 'vb', netnsFd: b.netns.fd } });
    const br = index(a.h, 'br0');
    const va = index(a.h, 'va');

    a.h.linkSet(va, { mtu: 1300 });
    assert.equal((await linkDetail(a.name, 'va'))?.mtu, 1300);
    a.h.linkSet(va, { mac: '02:00:00:00:03:01' });
    assert.equal((await linkDetail(a.name, 'va'))?.address, '02:00:00:00:03:01');
    a.h.linkSet(va, { masterIndex: br });
    const port = await linkDetail(a.name, 'va');
    assert.equal(port?.master, 'br0');
    assert.equal(port?.linkinfo?.info_slave_kind, 'bridge');
    a.h.linkSet(va, { up: true });
    assert.ok((await linkDetail(a.name, 'va'))?.flags.includes('UP'));
    a.h.linkSet(va, { up: false });
    assert.equal((await linkDetail(a.name, 'va'))?.flags.includes('UP'), false);
    // A link is renamed while it is down; it keeps its index.
    a.h.linkSet(va, { name: 'va-renamed' });
    const renamed = await linkDetail(a.name, 'va-renamed');
    assert.equal(renamed?.ifindex, va);
    assert.equal(await linkDetail(a.name, 'va'), undefined);
    a.h.linkSet(va, { masterIndex: 0 });
    assert.equal((await linkDetail(a.name, 'va-renamed'))?.master, undefined, 'released from the bridge');
    // Several changes in one request.
    a.h.linkSet(va, { up: true, mtu: 1280, masterIndex: br });
    const all = await linkDetail(a.name, 'va-renamed');
    assert.deepEqual([all?.flags.includes('UP'), all?.mtu, all?.master], [true, 1280, 'br0']);
  });

  test('addrAdd and addrDel, IPv4 and IPv6', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    a.h.linkAdd({ kind: 'bridge', name: 'br0', up: true });
    const br = index(a.h, 'br0');
    const v4 = { index: br, ip: parseIp('10.72.1.1'), prefix: 24 };
    const v6 = { index: br, ip: parseIp('fd00:72:1::1'), prefix: 64, noDad: true };
    a.h.addrAdd(v4);
    a.h.addrAdd(v6);
    const shown = (await ipAddrsOn(a.name, 'br0')).filter((x) => !x.startsWith('fe80:'));
    assert.deepEqual(shown, ['10.72.1.1/24', 'fd00:72:1::1/64']);
    const info6 = (await ipJson<{ addr_info: { family: string; local: string; nodad?: boolean }[] }[]>(['addr', 'show', 'dev', 'br0'], a.name))[0]?.addr_info.find(
      (x) => x.family === 'inet6' && x.local === 'fd00:72:1::1',
    );
    assert.equal(info6?.nodad, true, 'IPv6 address without DAD');
    assert.ok(
      (await ipJson<IpRouteEntry[]>(['route', 'show'], a.name)).some((r) => r.dst === '10.72.1.0/24' && r.dev === 'br0'),
      'the prefix route came with the address',
    );

    assert.throws(() => { a.h.addrAdd(v4); }, (err) => isNetlinkError(err, 'EEXIST', 'RTM_NEWADDR', '10.72.1.1/24'));
    a.h.addrDel(v4);
    a.h.addrDel(v6);
    assert.deepEqual((await ipAddrsOn(a.name, 'br0')).filter((x) => !x.startsWith('fe80:')), []);
    assert.throws(() => { a.h.addrDel(v4); }, (err) => isNetlinkError(err, 'EADDRNOTAVAIL', 'RTM_DELADDR', '10.72.1.1/24'));
  });

  test('addrGet: one address of one link, IPv4 and IPv6, as ip addr shows it', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    a.h.linkAdd({ kind: 'bridge', name: 'b0', up: true });
    a.h.linkAdd({ kind: 'bridge', name: 'b1', up: true });
    const b0 = index(a.h, 'b0');
    await sh('ip', ['-n', a.name, 'addr', 'add', '10.72.2.1/24', 'dev', 'b0']);
    await sh('ip', ['-n', a.name, 'addr', 'add', 'fd00:72:2::1/64', 'dev', 'b0', 'nodad']);
    for (const [ip, prefix] of [['10.72.2.1', 24], ['fd00:72:2::1', 64]] as const) {
      const got = a.h.addrGet({ index: b0, ip: parseIp(ip) });
      assert.deepEqual(got === undefined ? undefined : { index: got.index, ip: formatIp(got.ip), prefix: got.prefix }, { index: b0, ip, prefix });
      assert.equal(a.h.addrGet({ index: index(a.h, 'b1'), ip: parseIp(ip) }), undefined, `${ip} is not on b1`);
    }
    assert.equal(a.h.addrGet({ index: b0, ip: parseIp('fd00:72:2::2') }), undefined);
    assert.equal(a.h.addrGet({ index: b0, ip: parseIp('10.72.2.2') }), undefined);
  });

  test('routeAdd and routeDel: via a gateway and scope link, IPv4 and IPv6, with traffic', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    const b = await fresh(t);
    const { va } = await wire(a, b, 2);
    // Destinations that only B has, on its loopback; B answers A on the connected /24.
    await sh('ip', ['-n', b.name, 'addr', 'add', '10.72.9.1/32', 'dev', 'lo']);
    await sh('ip', ['-n', b.name, 'addr', 'add', '10.72.8.1/32', 'dev', 'lo']);
    await sh('ip', ['-n', b.name, 'addr', 'add', 'fd00:72:9::1/128', 'dev', 'lo']);
    assert.equal(await ping(a.name, '10.72.9.1'), false, 'no route yet');

    const viaGw = { family: 4, dst: { ip: parseIp('10.72.9.0'), prefix: 24 }, gateway: parseIp('10.72.2.2'), oifIndex: va } as const;
    const onLink = { family: 4, dst: { ip: parseIp('10.72.8.0'), prefix: 24 }, oifIndex: va, scope: 'link' } as const;
    const viaGw6 = { family: 6, dst: { ip: parseIp('fd00:72:9::'), prefix: 64 }, gateway: parseIp('fd00:72:2::2'), oifIndex: va } as const;
    a.h.routeAdd(viaGw);
    a.h.routeAdd(onLink);
    a.h.routeAdd(viaGw6);

    const shown = (await ipRoutes(a.name)).filter((r) => r.dst.startsWith('10.72.9.') || r.dst.startsWith('10.72.8.') || r.dst.startsWith('fd00:72:9:'));
    assert.deepEqual(
      shown.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev, scope: r.scope, table: r.table })),
      [
        { dst: '10.72.8.0/24', gateway: undefined, dev: 'va', scope: 'link', table: undefined },
        { dst: '10.72.9.0/24', gateway: '10.72.2.2', dev: 'va', scope: undefined, table: undefined },
        { dst: 'fd00:72:9::/64', gateway: 'fd00:72:2::2', dev: 'va', scope: undefined, table: undefined },
      ],
    );
    assert.ok(await ping(a.name, '10.72.9.1'), 'traffic follows the gateway route');
    assert.ok(await ping(a.name, '10.72.8.1'), 'traffic follows the scope link route');
    assert.ok(await ping(a.name, 'fd00:72:9::1'), 'traffic follows the IPv6 gateway route');

    assert.throws(() => { a.h.routeAdd(viaGw); }, (err) => isNetlinkError(err, 'EEXIST', 'RTM_NEWROUTE', '10.72.9.0/24 via 10.72.2.2'));
    a.h.routeDel(viaGw);
    a.h.routeDel(onLink);
    a.h.routeDel(viaGw6);
    const left = (await ipRoutes(a.name)).filter((r) => r.dst.startsWith('10.72.9.') || r.dst.startsWith('10.72.8.') || r.dst.startsWith('fd00:72:9:'));
    assert.deepEqual(left, []);
    assert.equal(await ping(a.name, '10.72.9.1'), false, 'no route any more');
    assert.throws(() => { a.h.routeDel(viaGw); }, (err) => isNetlinkError(err, 'ESRCH', 'RTM_DELROUTE', '10.72.9.0/24 via 10.72.2.2'));
  });

  test('routeDel removes routes the kernel or another tool made, as ip route del does', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    a.h.linkAdd({ kind: 'bridge', name: 'br0', up: true });
    const br = index(a.h, 'br0');
    a.h.addrAdd({ index: br, ip: parseIp('10.72.7.1'), prefix: 24 });
    await sh('ip', ['-n', a.name, 'route', 'add', '10.72.17.0/24', 'dev', 'br0', 'proto', 'static']);
    await sh('ip', ['-n', a.name, 'route', 'add', '10.72.18.0/24', 'via', '10.72.7.9', 'proto', 'kernel']);
    const mine = async (): Promise<string[]> =>
      (await ipJson<IpRouteEntry[]>(['route', 'show'], a.name)).map((r) => `${r.dst} ${r.protocol ?? 'boot'}`).sort();
    assert.deepEqual(await mine(), ['10.72.17.0/24 static', '10.72.18.0/24 kernel', '10.72.7.0/24 kernel']);

    a.h.routeDel({ family: 4, dst: { ip: parseIp('10.72.7.0'), prefix: 24 }, oifIndex: br });
    a.h.routeDel({ family: 4, dst: { ip: parseIp('10.72.17.0'), prefix: 24 } });
    a.h.routeDel({ family: 4, dst: { ip: parseIp('10.72.18.0'), prefix: 24 }, gateway: parseIp('10.72.7.9') });
    assert.deepEqual(await mine(), []);
  });

  test('neighSet and neighDel, IPv4 and IPv6', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    const b = await fresh(t);
    const { va } = await wire(a, b, 3);
    const n4 = { index: va, ip: parseIp('10.72.3.9'), mac: '02:00:00:00:09:09' };
    const n6 = { index: va, ip: parseIp('fd00:72:3::9'), mac: '02:00:00:00:09:06' };
    a.h.neighSet(n4);
    a.h.neighSet(n6);
    const shown = (await neighbours(a.name)).filter((n) => n.dst === '10.72.3.9' || n.dst === 'fd00:72:3::9');
    assert.deepEqual(
      shown.map((n) => [n.dst, n.dev, n.lladdr, n.state]).sort(),
      [
        ['10.72.3.9', 'va', '02:00:00:00:09:09', ['PERMANENT']],
        ['fd00:72:3::9', 'va', '02:00:00:00:09:06', ['PERMANENT']],
      ],
    );
    // Set replaces an existing entry.
    a.h.neighSet({ ...n4, mac: '02:00:00:00:09:0a' });
    assert.equal((await neighbours(a.name)).find((n) => n.dst === '10.72.3.9')?.lladdr, '02:00:00:00:09:0a');
    a.h.neighDel(n4);
    a.h.neighDel(n6);
    assert.deepEqual((await neighbours(a.name)).filter((n) => n.dst === '10.72.3.9' || n.dst === 'fd00:72:3::9'), []);
    assert.throws(() => { a.h.neighDel(n4); }, (err) => isNetlinkError(err, 'ENOENT', 'RTM_DELNEIGH', '10.72.3.9'));
  });

  test('linkList, addrList and routeList match ip -j', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    const b = await fresh(t);
    const { va } = await wire(a, b, 4);
    a.h.linkAdd({ kind: 'bridge', name: 'br0', mtu: 1400 });
    const br = index(a.h, 'br0');
    a.h.addrAdd({ index: br, ip: parseIp('10.72.5.1'), prefix: 24 });
    a.h.routeAdd({ family: 4, dst: { ip: parseIp('10.72.6.0'), prefix: 24 }, gateway: parseIp('10.72.4.2'), oifIndex: va });
    a.h.routeAdd({ family: 6, gateway: parseIp('fd00:72:4::2'), oifIndex: va });

    const ipLinks = await links(a.name);
    const nameOf = new Map(ipLinks.map((l) => [l.ifindex, l.ifname]));
    const linkKey = (l: LinkInfo): string =>
      `${l.index} ${l.name} mtu ${String(l.mtu)} mac ${String(l.mac)} master ${l.masterIndex === undefined ? '-' : String(nameOf.get(l.masterIndex))} ${l.up ? 'up' : 'down'}`;
    const ipLinkKey = (l: IpLink): string =>
      `${l.ifindex} ${l.ifname} mtu ${l.mtu} mac ${String(l.address)} master ${l.master ?? '-'} ${l.flags.includes('UP') ? 'up' : 'down'}`;
    assert.deepEqual(a.h.linkList().map(linkKey).sort(), ipLinks.map(ipLinkKey).sort());

    const addrKey = (i: number, ip: string, prefix: number): string => `${String(nameOf.get(i))} ${ip}/${prefix}`;
    const ipAddrs = await ipJson<IpAddrInfo[]>(['addr', 'show'], a.name);
    assert.deepEqual(
      a.h.addrList().map((x) => addrKey(x.index, formatIp(x.ip), x.prefix)).sort(),
      ipAddrs.flatMap((l) => l.addr_info.map((x) => addrKey(l.ifindex, x.local, x.prefixlen))).sort(),
    );
    assert.deepEqual(
      a.h.addrList({ family: 6, index: va }).map((x) => formatIp(x.ip)).sort(),
      ipAddrs.find((l) => l.ifname === 'va')?.addr_info.filter((x) => x.family === 'inet6').map((x) => x.local).sort(),
    );

    const TABLES: Record<string, number> = { main: 254, local: 255 };
    const TYPES: Record<string, number> = { unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5 };
    const dstText = (dst: { ip: IpAddress; prefix: number } | undefined): string => {
      if (dst === undefined) return 'default';
      const full = dst.ip.family === 4 ? 32 : 128;
      return dst.prefix === full ? formatIp(dst.ip) : `${formatIp(dst.ip)}/${dst.prefix}`;
    };
    const ours = [...a.h.routeList(4), ...a.h.routeList(6)].map(
      (r) => `${r.table} ${r.type} ${dstText(r.dst)} via ${r.gateway === undefined ? '-' : formatIp(r.gateway)} dev ${r.oifIndex === undefined ? '-' : String(nameOf.get(r.oifIndex))}`,
    );
    const theirs = (await ipRoutes(a.name)).map(
      (r) => `${TABLES[r.table ?? 'main'] ?? r.table} ${TYPES[r.type ?? 'unicast'] ?? r.type} ${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'}`,
    );
    assert.deepEqual(ours.sort(), theirs.sort());
    assert.ok(ours.includes('254 1 10.72.6.0/24 via 10.72.4.2 dev va'));
    assert.ok(ours.includes('254 1 default via fd00:72:4::2 dev va'));
  });

  test('errors: EEXIST on linkAdd, ENODEV on linkDel, linkRemove of a missing link is fine', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    a.h.linkAdd({ kind: 'bridge', name: 'br0' });
    assert.throws(
      () => { a.h.linkAdd({ kind: 'bridge', name: 'br0' }); },
      (err) => {
        isNetlinkError(err, 'EEXIST', 'RTM_NEWLINK', 'br0');
        assert.equal((err as NetlinkError).errno, 17);
        assert.equal((err as NetlinkError).message, 'RTM_NEWLINK br0 failed: EEXIST (File exists)');
        return true;
      },
    );
    assert.throws(
      () => { a.h.linkDel('nosuchlink'); },
      (err) => {
        isNetlinkError(err, 'ENODEV', 'RTM_DELLINK', 'nosuchlink');
        assert.equal((err as NetlinkError).message, 'RTM_DELLINK nosuchlink failed: ENODEV (No such device)');
        return true;
      },
    );
    a.h.linkRemove('nosuchlink');
    assert.equal(a.h.linkGet('nosuchlink'), undefined);
    // linkRemove of a link that exists removes it.
    a.h.linkRemove('br0');
    assert.equal(await linkDetail(a.name, 'br0'), undefined);
    // The kernel's extended ack reaches the message.
    assert.throws(
      () => { a.h.linkAdd({ kind: 'bridge', name: 'a-name-far-too-long' }); },
      (err) => {
        isNetlinkError(err, 'ERANGE', 'RTM_NEWLINK', 'a-name-far-too-long');
        assert.equal((err as NetlinkError).extack, 'Attribute failed policy validation');
        assert.match((err as NetlinkError).message, /: Attribute failed policy validation$/);
        return true;
      },
    );
  });

  test('linkAddAsync, linkDelAsync, linkRemoveAsync: a veth pair made and deleted off the event loop', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    const b = await fresh(t);
    await a.h.linkAddAsync({ kind: 'veth', name: 'va', mtu: 1450, up: true, peer: { name: 'vb', netnsFd: b.netns.fd } });
    assert.equal((await linkDetail(a.name, 'va'))?.mtu, 1450);
    assert.ok(await linkDetail(b.name, 'vb'), 'the peer is there');
    await assert.rejects(a.h.linkAddAsync({ kind: 'veth', name: 'va', peer: { name: 'vc' } }), (err) => isNetlinkError(err, 'EEXIST', 'RTM_NEWLINK', 'va'));

    // The deletion takes the kernel milliseconds; timers keep running meanwhile.
    let turns = 0;
    let deleted = false;
    const turn = (): void => {
      turns++;
      if (!deleted) setImmediate(turn);
    };
    const deleting = a.h.linkDelAsync('va');
    const before = turns;
    setImmediate(turn);
    await deleting;
    deleted = true;
    assert.ok(turns > before, `the event loop turned while the veth was deleted (${turns - before} turns)`);
    assert.equal(await linkDetail(a.name, 'va'), undefined);
    assert.equal(await linkDetail(b.name, 'vb'), undefined, 'the peer went with it');

    await assert.rejects(a.h.linkDelAsync('va'), (err) => {
      isNetlinkError(err, 'ENODEV', 'RTM_DELLINK', 'va');
      assert.equal((err as NetlinkError).message, 'RTM_DELLINK va failed: ENODEV (No such device)');
      return true;
    });
    await a.h.linkRemoveAsync('va');
  });

  test('async requests in parallel with each other and with sync ones each get their own answer', async (t) => {
    await sandboxUntouched(t);
    const a = await fresh(t);
    const b = await fresh(t);
    const names = Array.from({ length: 6 }, (_, i) => `v${i}`);
    for (const name of names) a.h.linkAdd({ kind: 'veth', name, peer: { name: `p${name}`, netnsFd: b.netns.fd } });
    const deletions = names.map((name) => a.h.linkDelAsync(name));
    // Sync requests on the handle meanwhile, on its own socket.
    a.h.linkAdd({ kind: 'bridge', name: 'br0' });
    assert.equal(a.h.linkGet('br0')?.name, 'br0');
    const refused = assert.rejects(a.h.linkDelAsync('nosuchlink'), (err) => isNetlinkError(err, 'ENODEV', 'RTM_DELLINK', 'nosuchlink'));
    await Promise.all([...deletions, refused]);
    assert.deepEqual((await links(a.name)).map((l) => l.ifname).sort(), ['br0', 'lo']);
    assert.deepEqual((await links(b.name)).map((l) => l.ifname), ['lo']);
  });

  test('close() during an async request: the request ends, then nothing is left open', async (t) => {
    await sandboxUntouched(t);
    const name = await newNetns(t, 'nl');
    const netns = Netns.open(parseNetnsRef(name));
    t.after(() => { netns.close(); });
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const h = netns.openHandle();
    h.linkAdd({ kind: 'bridge', name: 'br0' });
    h.linkAdd({ kind: 'bridge', name: 'br1' });
    await h.linkDelAsync('br0');
    const open = fds();
    const deleting = h.linkDelAsync('br1');
    h.close();
    await deleting;
    assert.equal(fds(), open - 2, 'the handle socket and its spare are closed');
    assert.deepEqual((await links(name)).map((l) => l.ifname), ['lo']);
    await assert.rejects(h.linkDelAsync('br1'), TypeError);
  });
});
