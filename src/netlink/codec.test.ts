/**
 * The netlink codec against bytes the kernel really sent (src/netlink/fixtures/*.hex, recorded by
 * test/fixtures/capture-netlink.ts in the sandbox): every datagram decodes and re-encodes byte for
 * byte, the decoders read the fields the capture set up, and the encoders produce the bytes worked
 * out by hand below from the kernel's struct layouts. No root needed.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseIp } from '../inet/ip.js';
import { type Attr, attrType, decodeAttrs, encodeAttrs } from './attr.js';
import { NLA_F_NESTED, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE } from './constants.js';
import { decodeError, decodeMessages, encodeMessage, type NetlinkMessage } from './message.js';
import { decodeAddress, encodeAddress, IFADDRMSG_LEN } from './rtnl/addr.js';
import { decodeLink, encodeLinkAdd, IFINFOMSG_LEN } from './rtnl/link.js';
import { decodeRoute, encodeRoute, encodeRouteDel, RTMSG_LEN } from './rtnl/route.js';

/** One captured datagram; `#` lines are comments. Compiled tests live in dist/src/netlink/. */
function fixture(name: string): Buffer {
  const text = readFileSync(new URL(`../../../src/netlink/fixtures/${name}`, import.meta.url), 'utf8');
  const hex = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}

/** Hex written with spaces, newlines and `# comments` for readability. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

const FIXTURES = [
  'link-veth.hex',
  'link-bridge.hex',
  'addr-v4.hex',
  'addr-v6.hex',
  'route-v4.hex',
  'error-eexist.hex',
  'error-extack.hex',
] as const;

// Attributes that hold attributes, by the path of types leading to them (rtnetlink does not flag
// most of them with NLA_F_NESTED): IFLA_LINKINFO and its IFLA_INFO_DATA, IFLA_AF_SPEC and each
// family's block in it. Anything flagged NLA_F_NESTED is nested too.
const NESTED_LINK_PATHS = new Set(['18', '18.2', '26', '26.*']);

function isNested(attr: Attr, path: readonly number[], nestedPaths: ReadonlySet<string>): boolean {
  if ((attr.type & NLA_F_NESTED) !== 0) return true;
  const here = [...path, attrType(attr)];
  const wild = [...path, '*'];
  return nestedPaths.has(here.join('.')) || nestedPaths.has(wild.join('.'));
}

/** Decode attributes and, recursively, the nested ones: a tree encodeAttrs must serialise back. */
function decodeTree(buf: Buffer, nestedPaths: ReadonlySet<string>, path: readonly number[] = []): Attr[] {
  return decodeAttrs(buf).map((a) => {
    if (!Buffer.isBuffer(a.value) || !isNested(a, path, nestedPaths)) return a;
    return { type: a.type, value: decodeTree(a.value, nestedPaths, [...path, attrType(a)]) };
  });
}

/** Length of the fixed struct in front of a message's attributes, and which attributes nest. */
function layout(msg: NetlinkMessage): { head: number; nested: ReadonlySet<string> } {
  switch (msg.type) {
    case RTM_NEWLINK:
      return { head: IFINFOMSG_LEN, nested: NESTED_LINK_PATHS };
    case RTM_NEWADDR:
      return { head: IFADDRMSG_LEN, nested: new Set() };
    case RTM_NEWROUTE:
      return { head: RTMSG_LEN, nested: new Set() };
    case NLMSG_ERROR:
      // errno, then the echoed request header (NLM_F_CAPPED: the header only), then the TLVs.
      return { head: 4 + NLMSG_HDRLEN, nested: new Set() };
    case NLMSG_DONE:
      return { head: 4, nested: new Set() };
    default:
      throw new Error(`unexpected message type ${msg.type} in a fixture`);
  }
}

function countAttrs(tree: readonly Attr[]): number {
  return tree.reduce((n, a) => n + 1 + (Buffer.isBuffer(a.value) ? 0 : countAttrs(a.value)), 0);
}

describe('netlink codec on captured kernel replies', () => {
  for (const name of FIXTURES) {
    test(`${name}: decodeMessages/decodeAttrs -> encodeAttrs round trip, byte for byte`, () => {
      const datagram = fixture(name);
      const msgs = decodeMessages(datagram);
      assert.ok(msgs.length > 0);
      const parts: Buffer[] = [];
      let attrs = 0;
      for (const msg of msgs) {
        const { head, nested } = layout(msg);
        const tree = decodeTree(msg.payload.subarray(head), nested);
        attrs += countAttrs(tree);
        const payload = Buffer.concat([msg.payload.subarray(0, head), encodeAttrs(tree)]);
        const encoded = encodeMessage(msg, payload);
        // Messages in a datagram start on 4-byte boundaries.
        parts.push(encoded, Buffer.alloc(((encoded.length + 3) & ~3) - encoded.length));
      }
      assert.deepEqual(Buffer.concat(parts), datagram);
      if (name !== 'error-eexist.hex') assert.ok(attrs > 0, 'the fixture has attributes to round-trip');
    });
  }

  test('link-veth.hex: decodeLink', () => {
    const [msg, ...rest] = decodeMessages(fixture('link-veth.hex'));
    assert.equal(rest.length, 0);
    assert.equal(msg?.type, RTM_NEWLINK);
    assert.deepEqual(decodeLink(msg.payload), {
      index: 2,
      name: 'veth0',
      flags: 0x1002, // IFF_BROADCAST | IFF_MULTICAST: down
      up: false,
      mtu: 1400,
      mac: '02:00:00:00:00:01',
      masterIndex: undefined,
      kind: 'veth',
      slaveKind: undefined,
      parentIndex: 2, // veth0p, index 2 in its own namespace
      linkNetnsId: 0, // that namespace as seen from here
      operstate: 2, // IF_OPER_DOWN
      alias: undefined,
    });
  });

  test('link-bridge.hex: decodeLink', () => {
    const [msg] = decodeMessages(fixture('link-bridge.hex'));
    assert.ok(msg !== undefined);
    assert.deepEqual(decodeLink(msg.payload), {
      index: 3,
      name: 'br0',
      flags: 0x1002,
      up: false,
      mtu: 1500,
      mac: '02:00:00:00:00:03',
      masterIndex: undefined,
      kind: 'bridge',
      slaveKind: undefined,
      parentIndex: undefined,
      linkNetnsId: undefined,
      operstate: 2,
      alias: undefined,
    });
  });

  test('addr-v4.hex / addr-v6.hex: decodeAddress', () => {
    const v4 = decodeMessages(fixture('addr-v4.hex'));
    assert.deepEqual(v4.map((m) => m.type), [RTM_NEWADDR]);
    assert.deepEqual(decodeAddress(v4[0]?.payload ?? Buffer.alloc(0)), {
      index: 3,
      ip: parseIp('10.74.0.1'),
      prefix: 24,
      flags: 0x80, // IFA_F_PERMANENT
      scope: 0,
    });
    const v6 = decodeMessages(fixture('addr-v6.hex'));
    assert.deepEqual(v6.map((m) => m.type), [RTM_NEWADDR, NLMSG_DONE]);
    assert.deepEqual(decodeAddress(v6[0]?.payload ?? Buffer.alloc(0)), {
      index: 3,
      ip: parseIp('fd00:74::1'),
      prefix: 64,
      flags: 0x82, // IFA_F_PERMANENT | IFA_F_NODAD
      scope: 0,
    });
  });

  test('route-v4.hex: decodeRoute', () => {
    const msgs = decodeMessages(fixture('route-v4.hex'));
    assert.ok(msgs.every((m) => m.type === RTM_NEWROUTE));
    const dst = (ip: string, prefix: number): { ip: ReturnType<typeof parseIp>; prefix: number } => ({ ip: parseIp(ip), prefix });
    const common = { family: 4, oifIndex: 3, metric: undefined };
    assert.deepEqual(msgs.map((m) => decodeRoute(m.payload)), [
      // 10.74.0.0/24 dev br0 proto kernel scope link
      { ...common, dst: dst('10.74.0.0', 24), gateway: undefined, table: 254, protocol: 2, scope: 253, type: 1 },
      // 10.74.9.0/24 via 10.74.0.254 dev br0 proto boot
      { ...common, dst: dst('10.74.9.0', 24), gateway: parseIp('10.74.0.254'), table: 254, protocol: 3, scope: 0, type: 1 },
      // local 10.74.0.1 dev br0 table local proto kernel scope host
      { ...common, dst: dst('10.74.0.1', 32), gateway: undefined, table: 255, protocol: 2, scope: 254, type: 2 },
      // broadcast 10.74.0.255 dev br0 table local proto kernel scope link
      { ...common, dst: dst('10.74.0.255', 32), gateway: undefined, table: 255, protocol: 2, scope: 253, type: 3 },
    ]);
  });

  test('error-eexist.hex: decodeError of a capped NLMSG_ERROR without extack', () => {
    const [msg] = decodeMessages(fixture('error-eexist.hex'));
    assert.ok(msg !== undefined);
    assert.equal(msg.type, NLMSG_ERROR);
    assert.deepEqual(decodeError(msg), { error: -17 });
  });

  test('error-extack.hex: decodeError reads the extack message and offset', () => {
    const [msg] = decodeMessages(fixture('error-extack.hex'));
    assert.ok(msg !== undefined);
    assert.deepEqual(decodeError(msg), {
      error: -34, // ERANGE: IFLA_IFNAME longer than IFNAMSIZ - 1
      extack: 'Attribute failed policy validation',
      extackOffset: 32, // nlmsghdr (16) + ifinfomsg (16): the first attribute, IFLA_IFNAME
    });
  });

  test('decodeMessages stops at a truncated message', () => {
    const datagram = fixture('route-v4.hex');
    assert.equal(decodeMessages(datagram.subarray(0, datagram.length - 1)).length, 3);
    assert.equal(decodeMessages(datagram.subarray(0, 10)).length, 0);
  });
});

describe('netlink encoders produce the kernel layouts', () => {
  test('encodeLinkAdd: a bridge, up', () => {
    assert.deepEqual(
      encodeLinkAdd({ kind: 'bridge', name: 'br0', mtu: 1500, up: true }),
      hex(`
        00 00 0000 00000000 01000000 01000000   # ifinfomsg: AF_UNSPEC, index 0, flags IFF_UP, change IFF_UP
        0800 0300 62723000                      # IFLA_IFNAME "br0"
        0800 0400 dc050000                      # IFLA_MTU 1500
        1c00 1200                               # IFLA_LINKINFO (28 bytes)
          0b00 0100 62726964676500 00           # IFLA_INFO_KIND "bridge" + 1 byte of padding
          0c00 0200                             # IFLA_INFO_DATA
            0800 0500 00000000                  # IFLA_BR_STP_STATE 0
      `),
    );
  });

  test('encodeLinkAdd: a veth enslaved at creation with its peer in another namespace', () => {
    assert.deepEqual(
      encodeLinkAdd({
        kind: 'veth',
        name: 'ct0',
        mtu: 1400,
        mac: '02:00:00:00:00:01',
        masterIndex: 5,
        up: true,
        peer: { name: 'eth0', mtu: 1400, mac: '02:00:00:00:00:02', netnsFd: 7 },
      }),
      hex(`
        00 00 0000 00000000 01000000 01000000
        0800 0300 63743000                      # IFLA_IFNAME "ct0"
        0800 0400 78050000                      # IFLA_MTU 1400
        0a00 0100 020000000001 0000             # IFLA_ADDRESS + 2 bytes of padding
        0800 0a00 05000000                      # IFLA_MASTER 5
        5000 1200                               # IFLA_LINKINFO (80 bytes)
          0900 0100 7665746800 000000           # IFLA_INFO_KIND "veth" + 3 bytes of padding
          4000 0200                             # IFLA_INFO_DATA (64 bytes)
            3c00 0100                           # VETH_INFO_PEER (60 bytes): an ifinfomsg, then attributes
              00 00 0000 00000000 00000000 00000000
              0900 0300 6574683000 000000       # IFLA_IFNAME "eth0"
              0800 0400 78050000                # IFLA_MTU 1400
              0a00 0100 020000000002 0000       # IFLA_ADDRESS
              0800 1c00 07000000                # IFLA_NET_NS_FD 7
      `),
    );
  });

  test('encodeAddress: IPv4, and IPv6 without DAD', () => {
    assert.deepEqual(
      encodeAddress({ index: 3, ip: parseIp('10.74.0.1'), prefix: 24 }),
      hex(`
        02 18 00 00 03000000                    # ifaddrmsg: AF_INET, /24, no flags, scope universe, index 3
        0800 0200 0a4a0001                      # IFA_LOCAL
        0800 0100 0a4a0001                      # IFA_ADDRESS
      `),
    );
    assert.deepEqual(
      encodeAddress({ index: 3, ip: parseIp('fd00:74::1'), prefix: 64, noDad: true }),
      hex(`
        0a 40 00 00 03000000
        1400 0200 fd000074 00000000 00000000 00000001
        1400 0100 fd000074 00000000 00000000 00000001
        0800 0800 02000000                      # IFA_FLAGS IFA_F_NODAD
      `),
    );
  });

  test('encodeAddress header matches the kernel reply for the same address', () => {
    const [msg] = decodeMessages(fixture('addr-v4.hex'));
    const ours = encodeAddress({ index: 3, ip: parseIp('10.74.0.1'), prefix: 24 });
    // family, prefix length, scope and index; the kernel reports IFA_F_PERMANENT in the flags byte.
    assert.deepEqual([ours[0], ours[1], ours[3], ours.readUInt32LE(4)], [msg?.payload[0], msg?.payload[1], msg?.payload[3], msg?.payload.readUInt32LE(4)]);
  });

  test('encodeRoute: via a gateway, scope link, IPv6 default', () => {
    assert.deepEqual(
      encodeRoute({ family: 4, dst: { ip: parseIp('10.74.9.0'), prefix: 24 }, gateway: parseIp('10.74.0.254'), oifIndex: 3 }),
      hex(`
        02 18 00 00 fe 03 00 01 00000000        # rtmsg: AF_INET, /24, main table, proto boot, scope universe, unicast
        0800 0100 0a4a0900                      # RTA_DST
        0800 0500 0a4a00fe                      # RTA_GATEWAY
        0800 0400 03000000                      # RTA_OIF 3
      `),
    );
    assert.deepEqual(
      encodeRoute({ family: 4, dst: { ip: parseIp('10.74.8.0'), prefix: 24 }, oifIndex: 3, scope: 'link' }),
      hex('02 18 00 00 fe 03 fd 01 00000000  0800 0100 0a4a0800  0800 0400 03000000'),
    );
    assert.deepEqual(
      encodeRoute({ family: 6, gateway: parseIp('fd00:74::fe'), oifIndex: 3, metric: 1024 }),
      hex(`
        0a 00 00 00 fe 03 00 01 00000000
        1400 0500 fd000074 00000000 00000000 000000fe
        0800 0400 03000000
        0800 0600 00040000
      `),
    );
  });

  test('encodeRouteDel leaves protocol, scope and type open, as ip route del does', () => {
    assert.deepEqual(
      encodeRouteDel({ family: 4, dst: { ip: parseIp('10.74.0.0'), prefix: 24 }, oifIndex: 3 }),
      hex(`
        02 18 00 00 fe 00 ff 00 00000000        # rtmsg: main table, RTPROT_UNSPEC, RT_SCOPE_NOWHERE, RTN_UNSPEC
        0800 0100 0a4a0000                      # RTA_DST
        0800 0400 03000000                      # RTA_OIF 3
      `),
    );
    assert.deepEqual(
      encodeRouteDel({ family: 4, dst: { ip: parseIp('10.74.8.0'), prefix: 24 }, scope: 'link' }).subarray(0, RTMSG_LEN),
      hex('02 18 00 00 fe 00 fd 00 00000000'),
    );
  });

  test('encodeRoute header matches the kernel reply for the same route', () => {
    const msgs = decodeMessages(fixture('route-v4.hex'));
    const kernel = msgs[1]?.payload;
    assert.ok(kernel !== undefined);
    const ours = encodeRoute({ family: 4, dst: { ip: parseIp('10.74.9.0'), prefix: 24 }, gateway: parseIp('10.74.0.254'), oifIndex: 3 });
    // Everything but rtm_flags, where the kernel reports RTNH_F_LINKDOWN for a bridge without carrier.
    assert.deepEqual(ours.subarray(0, 8), kernel.subarray(0, 8));
  });
});
