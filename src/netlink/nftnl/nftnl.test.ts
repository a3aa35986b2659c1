/**
 * The nf_tables element codec against what nft itself sends (src/netlink/nftnl/fixtures/nft-*.hex,
 * its sendmsg() recorded by fixtures/capture.sh in the sandbox): the same messages byte for byte,
 * except for the two differences ctnet chooses (NLM_F_ACK on each change, no NFTA_SET_ELEM_LIST_SET_ID,
 * which only names a set created in the same batch). Plus round trips of keys, data and comments,
 * and the chain request against nft's and against the kernel's recorded answers. No root needed.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { attrType, decodeAttrs, encodeAttrs } from '../attr.js';
import { BatchAnswers, encodeBatch } from '../batch.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NLMSG_ERROR } from '../constants.js';
import { decodeMessages, type NetlinkMessage } from '../message.js';
import { decodeChainRef, getChainMessage } from './chain.js';
import {
  NFGENMSG_LEN,
  NFT_MSG_GETCHAIN,
  NFT_MSG_NEWCHAIN,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFPROTO_INET,
  NFT_MSG_DELSETELEM,
  NFT_MSG_NEWSETELEM,
  NFTA_SET_ELEM_LIST_ELEMENTS,
  NFTA_SET_ELEM_LIST_SET_ID,
  nftMsgType,
} from './constants.js';
import { decodeNftValue, encodeNftValue, formatNftValue, type NftField, type NftFieldType, valueSize } from './data.js';
import { encodeNfgenmsg, encodeNftBatch, nftBatch, splitNftBatch } from './nfnetlink.js';
import { decodeSetElemList, delSetElemMessages, newSetElemMessages, type NftSetElem, type NftSetRef } from './setelem.js';
import { decodeElemComment, encodeElemComment } from './udata.js';

/**
 * The recorded bytes; `#` lines are comments. A reply fixture holds one datagram per line: joined,
 * they are the same messages, each already 4-byte aligned. Compiled tests live in dist/src/netlink/nftnl/.
 */
function fixture(name: string): Buffer {
  const text = readFileSync(new URL(`../../../../src/netlink/nftnl/fixtures/${name}`, import.meta.url), 'utf8');
  return Buffer.from(text.replace(/^#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

/** Hex written with spaces, newlines and `# comments` for readability. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

const tcp: NftField = { type: 'inet_proto', value: 6 };
const udp: NftField = { type: 'inet_proto', value: 17 };
const port = (value: number): NftField => ({ type: 'inet_service', value });
const v4 = (value: string): NftField => ({ type: 'ipv4_addr', value });
const v6 = (value: string): NftField => ({ type: 'ipv6_addr', value });
const ref = (set: string): NftSetRef => ({ family: NFPROTO_INET, table: 'ctnet', set });
const comment = 'ctnet ep e1e2';

// nft's payload without NFTA_SET_ELEM_LIST_SET_ID: nft names the set twice (by name and by its
// transaction id); the kernel looks the name up first, and ctnet never creates a set in a batch.
function withoutSetId(payload: Buffer): Buffer {
  const attrs = decodeAttrs(payload, NFGENMSG_LEN).filter((a) => attrType(a) !== NFTA_SET_ELEM_LIST_SET_ID);
  return Buffer.concat([payload.subarray(0, NFGENMSG_LEN), encodeAttrs(attrs)]);
}

/** nft's batch and ours for the same change: same markers, same change but for the documented differences. */
function assertLikeNft(name: string, ours: Buffer): void {
  const theirs = decodeMessages(fixture(name));
  const mine = decodeMessages(ours);
  assert.equal(mine.length, 3);
  assert.equal(theirs.length, 3);
  const [tb, tc, te] = theirs as [NetlinkMessage, NetlinkMessage, NetlinkMessage];
  const [mb, mc, me] = mine as [NetlinkMessage, NetlinkMessage, NetlinkMessage];
  // The markers: identical, numbered alike (both batches start at seq 0).
  assert.deepEqual(mb, tb);
  assert.deepEqual(me, te);
  assert.equal(mb.type, NFNL_MSG_BATCH_BEGIN);
  assert.equal(me.type, NFNL_MSG_BATCH_END);
  // The change: nft's type, seq and flags plus NLM_F_ACK, and its payload without the set id.
  assert.equal(mc.type, tc.type);
  assert.equal(mc.seq, tc.seq);
  assert.equal(mc.flags, tc.flags | NLM_F_ACK);
  assert.equal(withoutSetId(tc.payload).toString('hex'), mc.payload.toString('hex'));
}

describe('nf_tables element messages against nft 1.0.6', () => {
  test('add to pub4_any_port: key proto . port padded to 2 registers, data a bare 2-byte port, the comment TLV', () => {
    const msgs = newSetElemMessages(ref('pub4_any_port'), [{ key: [tcp, port(8080)], data: [port(80)], comment }]);
    assertLikeNft('nft-add-any-port.hex', encodeNftBatch(msgs, 0));
    // Ours, written out: what the socket sends after its own sequence numbers.
    assert.equal(
      encodeNftBatch(msgs, 0).toString('hex'),
      hex(`
        14000000 1000 0100 00000000 00000000   # NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq 0
        00 00 000a                             #   nfgenmsg AF_UNSPEC, v0, res_id NFNL_SUBSYS_NFTABLES
        6c000000 0c0a 0504 01000000 00000000   # NFT_MSG_NEWSETELEM, REQUEST|ACK|CREATE, seq 1
        01 00 0000                             #   nfgenmsg NFPROTO_INET
        0a00 0100 63746e6574 00 0000           #   NFTA_SET_ELEM_LIST_TABLE "ctnet"
        1200 0200 707562345f616e795f706f7274 00 0000 # NFTA_SET_ELEM_LIST_SET "pub4_any_port"
        3800 0380                              #   NFTA_SET_ELEM_LIST_ELEMENTS (nested)
        3400 0180                              #     NFTA_LIST_ELEM (nested)
        1000 0180 0c00 0100 06000000 1f900000  #       KEY { DATA_VALUE tcp(6) pad, 8080 pad }
        0c00 0280 0600 0100 0050 0000          #       DATA { DATA_VALUE 80 }, 2 bytes
        1400 0600 00 0e 63746e65742065702065316532 00 # USERDATA: COMMENT, 14, "ctnet ep e1e2\\0"
        14000000 1100 0100 02000000 00000000   # NFNL_MSG_BATCH_END, seq 2
        00 00 000a
      `).toString('hex'),
    );
  });

  test('add to pub4_any_addr: the data is the 4-byte address', () => {
    const msgs = newSetElemMessages(ref('pub4_any_addr'), [{ key: [tcp, port(8080)], data: [v4('10.99.1.2')], comment }]);
    assertLikeNft('nft-add-any-addr.hex', encodeNftBatch(msgs, 0));
  });

  test('add to pub4_ip_port: address . proto . port, 3 registers', () => {
    const msgs = newSetElemMessages(ref('pub4_ip_port'), [{ key: [v4('192.0.2.10'), udp, port(5353)], data: [port(53)], comment }]);
    assertLikeNft('nft-add-ip-port.hex', encodeNftBatch(msgs, 0));
  });

  test('add to pub6_ip_addr: a 16-byte address leads the key, the data is 16 bytes', () => {
    const msgs = newSetElemMessages(ref('pub6_ip_addr'), [{ key: [v6('2001:db8::10'), tcp, port(8443)], data: [v6('fd00:99:1::2')], comment }]);
    assertLikeNft('nft-add-ip6-addr.hex', encodeNftBatch(msgs, 0));
  });

  test('delete from pub4_any_port: the key only, no NLM_F_CREATE; data and comment are not sent', () => {
    const msgs = delSetElemMessages(ref('pub4_any_port'), [{ key: [tcp, port(8080)], data: [port(80)], comment }]);
    assertLikeNft('nft-delete-any-port.hex', encodeNftBatch(msgs, 0));
    assert.equal(msgs[0]?.flags, NLM_F_REQUEST | NLM_F_ACK);
    assert.equal(msgs[0]?.type, nftMsgType(NFT_MSG_DELSETELEM));
  });

  test("nft's own messages decode to the keys, data and comments it was given", () => {
    const change = (name: string): Buffer => decodeMessages(fixture(name))[1]?.payload ?? Buffer.alloc(0);
    const list = decodeSetElemList(change('nft-add-ip6-addr.hex'));
    assert.equal(list.family, NFPROTO_INET);
    assert.equal(list.table, 'ctnet');
    assert.equal(list.set, 'pub6_ip_addr');
    assert.equal(list.elements.length, 1);
    const [e] = list.elements;
    assert.ok(e?.data !== undefined);
    assert.equal(formatNftValue(decodeNftValue(e.key, ['ipv6_addr', 'inet_proto', 'inet_service'])), '2001:db8::10 . tcp . 8443');
    assert.equal(formatNftValue(decodeNftValue(e.data, ['ipv6_addr'])), 'fd00:99:1::2');
    assert.equal(e.comment, comment);
    const del = decodeSetElemList(change('nft-delete-any-port.hex'));
    assert.deepEqual(del.elements, [{ key: hex('06000000 1f900000') }]);
  });
});

describe('NFT_MSG_GETCHAIN against nft 1.0.6 and the kernel', () => {
  const inChain = { family: NFPROTO_INET, table: 'ctnet', chain: 'n-a1b2c3-in' };

  test("getChainMessage() is nft's request: REQUEST|ACK, no DUMP, the table, then the chain's name", () => {
    const m = getChainMessage(inChain);
    const [theirs] = decodeMessages(fixture('nft-get-chain.hex'));
    assert.ok(theirs !== undefined);
    assert.equal(m.type, theirs.type);
    assert.equal(m.flags, theirs.flags);
    // nft leaves attribute padding uninitialised; its attributes re-encoded have zeros there, as ours do.
    const canonical = Buffer.concat([theirs.payload.subarray(0, NFGENMSG_LEN), encodeAttrs(decodeAttrs(theirs.payload, NFGENMSG_LEN))]);
    assert.equal(m.payload.toString('hex'), canonical.toString('hex'));
    assert.equal(
      encodeBatch([m], 0).toString('hex'),
      hex(`
        30000000 040a 0500 00000000 00000000   # NFT_MSG_GETCHAIN, REQUEST|ACK, seq 0
        01 00 0000                             #   nfgenmsg NFPROTO_INET
        0a00 0100 63746e6574 00 0000           #   NFTA_CHAIN_TABLE "ctnet"
        1000 0300 6e2d6131623263332d696e 00    #   NFTA_CHAIN_NAME "n-a1b2c3-in"
      `).toString('hex'),
    );
    assert.equal(m.type, nftMsgType(NFT_MSG_GETCHAIN));
    assert.equal(m.op, 'NFT_MSG_GETCHAIN');
    assert.equal(m.object, 'ctnet n-a1b2c3-in');
    assert.deepEqual(decodeChainRef(m.payload), inChain);
    assert.deepEqual(decodeChainRef(theirs.payload), inChain);
  });

  test('a chain that exists: the kernel sends it (NFT_MSG_NEWCHAIN), then the ACK', () => {
    const replies = decodeMessages(fixture('reply-getchain.hex'));
    assert.deepEqual(replies.map((r) => [r.type, r.seq]), [[nftMsgType(NFT_MSG_NEWCHAIN), 400], [NLMSG_ERROR, 400]]);
    assert.deepEqual(decodeChainRef(replies[0]?.payload ?? Buffer.alloc(0)), inChain);
    const answers = new BatchAnswers([getChainMessage(inChain)], 400, replies[0]?.pid ?? -1);
    answers.take(fixture('reply-getchain.hex'));
    assert.equal(answers.done, true);
    assert.equal(answers.failure, undefined);
  });

  test('a chain that does not exist: ENOENT, named after the request', () => {
    const datagram = fixture('reply-getchain-enoent.hex');
    const answers = new BatchAnswers([getChainMessage({ ...inChain, chain: 'n-ffff-in' })], 500, decodeMessages(datagram)[0]?.pid ?? -1);
    answers.take(datagram);
    assert.equal(answers.done, true);
    assert.equal(answers.failure?.errnoName, 'ENOENT');
    assert.equal(answers.failure?.message, 'NFT_MSG_GETCHAIN ctnet n-ffff-in failed: ENOENT (No such file or directory)');
  });

  test('decodeChainRef() refuses a message without the names', () => {
    assert.throws(() => decodeChainRef(encodeNfgenmsg(NFPROTO_INET)), RangeError);
    assert.throws(() => decodeChainRef(Buffer.alloc(2)), RangeError);
  });
});

describe('newSetElemMessages()', () => {
  test('NEWSETELEM with REQUEST|ACK|CREATE and no EXCL, so re-adding the same element is accepted', () => {
    const [m] = newSetElemMessages(ref('pub4_any_port'), [{ key: [tcp, port(1)], data: [port(2)] }]);
    assert.equal(m?.type, nftMsgType(NFT_MSG_NEWSETELEM));
    assert.equal(m?.flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
    assert.equal(m?.op, 'NFT_MSG_NEWSETELEM');
    assert.equal(m?.object, 'pub4_any_port tcp . 1');
  });

  test('elements beyond one 16-bit attribute go into further messages, in order', () => {
    const elems: NftSetElem[] = [];
    for (let p = 1; p <= 3000; p++) elems.push({ key: [v6('2001:db8::10'), tcp, port(p)], data: [v6('fd00::2')], comment });
    const msgs = newSetElemMessages(ref('pub6_ip_addr'), elems);
    assert.ok(msgs.length > 1);
    const keys: string[] = [];
    for (const m of msgs) {
      const list = decodeAttrs(m.payload, NFGENMSG_LEN).find((a) => attrType(a) === NFTA_SET_ELEM_LIST_ELEMENTS);
      assert.ok(list !== undefined && Buffer.isBuffer(list.value));
      assert.ok(list.value.length + 4 <= 0xffff, `elements attribute of ${list.value.length + 4} bytes`);
      assert.equal(m.object, 'pub6_ip_addr');
      for (const e of decodeSetElemList(m.payload).elements) {
        keys.push(formatNftValue(decodeNftValue(e.key, ['ipv6_addr', 'inet_proto', 'inet_service'])));
        assert.equal(e.comment, comment);
      }
    }
    assert.equal(keys.length, 3000);
    assert.equal(keys[0], '2001:db8::10 . tcp . 1');
    assert.equal(keys[2999], '2001:db8::10 . tcp . 3000');
  });

  test('objectAt() names the element an extended-ack offset points into', () => {
    const [m] = newSetElemMessages(ref('pub4_any_addr'), [
      { key: [tcp, port(9090)], data: [v4('10.99.1.2')], comment },
      { key: [tcp, port(8080)], data: [v4('10.99.1.3')], comment },
    ]);
    assert.ok(m?.objectAt !== undefined);
    // nlmsghdr 16 + nfgenmsg 4 + table 12 + set 20 + list header 4: the first element at 56, 52 bytes each.
    assert.equal(m.objectAt(32), undefined); // NFTA_SET_ELEM_LIST_SET
    assert.equal(m.objectAt(56), 'pub4_any_addr tcp . 9090');
    assert.equal(m.objectAt(107), 'pub4_any_addr tcp . 9090');
    assert.equal(m.objectAt(108), 'pub4_any_addr tcp . 8080');
    assert.equal(m.objectAt(160), undefined);
    assert.equal(m.object, 'pub4_any_addr');
  });

  test('no elements give no messages', () => {
    assert.deepEqual(newSetElemMessages(ref('x'), []), []);
    assert.deepEqual(delSetElemMessages(ref('x'), []), []);
  });

  test('takes the elements from a generator, read once, as from an array', () => {
    const elems: NftSetElem[] = [];
    for (let p = 1; p <= 3000; p++) elems.push({ key: [tcp, port(p)], data: [port(p)], comment });
    function* once(): Generator<NftSetElem> {
      yield* elems;
    }
    const payloads = (msgs: readonly { payload: Buffer }[]): Buffer[] => msgs.map((m) => m.payload);
    assert.deepEqual(payloads(newSetElemMessages(ref('pub4_any_port'), once())), payloads(newSetElemMessages(ref('pub4_any_port'), elems)));
    assert.deepEqual(payloads(delSetElemMessages(ref('pub4_any_port'), once())), payloads(delSetElemMessages(ref('pub4_any_port'), elems)));
  });
});

describe('splitNftBatch()', () => {
  const elems: NftSetElem[] = [];
  for (let p = 1; p <= 20000; p++) elems.push({ key: [tcp, port(p)], data: [port(p)], comment });
  const messages = newSetElemMessages(ref('pub4_any_port'), elems);

  test('consecutive groups, in order, each framed into at most the limit', () => {
    const limit = 200_000;
    const groups = splitNftBatch(messages, limit);
    assert.ok(groups.length > 1, `${groups.length} groups`);
    assert.deepEqual(groups.flat(), messages);
    for (const g of groups) assert.ok(encodeNftBatch(g, 1).length <= limit, `${encodeNftBatch(g, 1).length} bytes`);
    // Each group but the last is full: one more message would not fit.
    for (const [i, g] of groups.slice(0, -1).entries()) {
      const next = groups[i + 1]?.[0];
      assert.ok(next !== undefined && encodeNftBatch([...g, next], 1).length > limit);
    }
  });

  test('all in one group when they fit; nothing gives nothing', () => {
    assert.deepEqual(splitNftBatch(messages, encodeNftBatch(messages, 1).length), [messages]);
    assert.deepEqual(splitNftBatch([], 100), []);
  });

  test('refuses a limit below one message', () => {
    assert.throws(() => splitNftBatch(messages, 1000), RangeError);
  });
});

describe('nftBatch()', () => {
  test('BEGIN and END around the changes, without NLM_F_ACK, naming the nf_tables subsystem', () => {
    const inner = delSetElemMessages(ref('s'), [{ key: [port(1)] }]);
    const batch = nftBatch(inner);
    assert.equal(batch.length, 3);
    assert.equal(batch[1], inner[0]);
    for (const marker of [batch[0], batch[2]]) {
      assert.equal(marker?.flags, NLM_F_REQUEST);
      assert.deepEqual(marker?.payload, hex('00 00 000a'));
    }
    assert.deepEqual(encodeBatch(batch, 7), encodeNftBatch(inner, 7));
    assert.deepEqual(decodeMessages(encodeNftBatch(inner, 0xffffffff)).map((m) => m.seq), [0xffffffff, 0, 1]);
  });

  test('nfgenmsg: family, version 0, res_id big-endian', () => {
    assert.deepEqual(encodeNfgenmsg(NFPROTO_INET), hex('01 00 0000'));
    assert.deepEqual(encodeNfgenmsg(0, 10), hex('00 00 000a'));
  });
});

describe('key and data values', () => {
  const cases: [string, NftField[], string][] = [
    ['inet_service alone: 2 bytes, no padding', [port(80)], '0050'],
    ['inet_proto alone: 1 byte', [udp], '11'],
    ['ipv4_addr alone', [v4('10.99.1.2')], '0a630102'],
    ['ipv6_addr alone', [v6('fd00:99:1::2')], 'fd000099000100000000000000000002'],
    ['inet_proto . inet_service', [tcp, port(8080)], '06000000 1f900000'],
    ['ipv4_addr . inet_proto . inet_service', [v4('192.0.2.10'), udp, port(5353)], 'c000020a 11000000 14e90000'],
    ['ipv6_addr . inet_proto . inet_service', [v6('2001:db8::10'), tcp, port(65535)], '20010db8000000000000000000000010 06000000 ffff0000'],
  ];
  for (const [name, fields, bytes] of cases) {
    test(`${name} encodes as nft does and decodes back`, () => {
      const encoded = encodeNftValue(fields);
      assert.equal(encoded.toString('hex'), hex(bytes).toString('hex'));
      const types = fields.map((f): NftFieldType => f.type);
      assert.equal(valueSize(types), encoded.length);
      assert.deepEqual(decodeNftValue(encoded, types), fields);
    });
  }

  test('formats like nft', () => {
    assert.equal(formatNftValue([v4('192.0.2.10'), udp, port(5353)]), '192.0.2.10 . udp . 5353');
    assert.equal(formatNftValue([{ type: 'inet_proto', value: 132 }, port(1)]), '132 . 1');
  });

  test('rejects values that do not fit their type (a caller bug: input is validated earlier)', () => {
    assert.throws(() => encodeNftValue([]), RangeError);
    assert.throws(() => encodeNftValue([port(65536)]), RangeError);
    assert.throws(() => encodeNftValue([port(-1)]), RangeError);
    assert.throws(() => encodeNftValue([{ type: 'inet_proto', value: 256 }]), RangeError);
    assert.throws(() => encodeNftValue([v4('fd00::1')]), RangeError);
    assert.throws(() => encodeNftValue([v6('10.0.0.1')]), RangeError);
    assert.throws(() => encodeNftValue([v4('10.0.0.1%eth0')]), RangeError);
    assert.throws(() => encodeNftValue([v6('::1'), v6('::2'), v6('::3'), v6('::4'), tcp]), RangeError); // 68 > 64 bytes
    assert.throws(() => decodeNftValue(hex('0600'), ['inet_proto', 'inet_service']), RangeError);
    assert.throws(() => decodeNftValue(hex('06000100 1f900000'), ['inet_proto', 'inet_service']), RangeError);
  });
});

describe('element comments (libnftnl udata)', () => {
  test('one TLV: type NFTNL_UDATA_SET_ELEM_COMMENT, the length with the NUL, the string and its NUL', () => {
    assert.equal(encodeElemComment('ctnet ep e1e2').toString('hex'), hex('00 0e 63746e65742065702065316532 00').toString('hex'));
    assert.equal(decodeElemComment(encodeElemComment('ctnet ep e1e2')), 'ctnet ep e1e2');
    assert.equal(decodeElemComment(encodeElemComment('é')), 'é');
  });

  test('other TLVs are skipped, truncated ones ignored', () => {
    assert.equal(decodeElemComment(Buffer.concat([hex('01 04 00000001'), encodeElemComment('x')])), 'x');
    assert.equal(decodeElemComment(hex('01 04 00000001')), undefined);
    assert.equal(decodeElemComment(hex('00 09 6162')), undefined);
    assert.equal(decodeElemComment(Buffer.alloc(0)), undefined);
  });

  test('a comment with a NUL or over 253 bytes is refused', () => {
    assert.throws(() => encodeElemComment('a\0b'), RangeError);
    assert.doesNotThrow(() => encodeElemComment('x'.repeat(253)));
    assert.throws(() => encodeElemComment('x'.repeat(254)), RangeError);
  });
});
