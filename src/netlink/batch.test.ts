/**
 * Batches and their answers, against what the kernel really answered to ctnet's nf_tables batches
 * (src/netlink/nftnl/fixtures/reply-*.hex, recorded by that directory's capture.sh in the sandbox).
 * No root needed.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { NetlinkError } from '../errors.js';
import { BatchAnswers, type BatchMessage, batchSummary, encodeBatch } from './batch.js';
import { NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, RTM_NEWLINK } from './constants.js';
import { decodeMessages, encodeMessage } from './message.js';
import { NFPROTO_INET } from './nftnl/constants.js';
import type { NftField } from './nftnl/data.js';
import { nftBatch } from './nftnl/nfnetlink.js';
import { newSetElemMessages, type NftSetRef } from './nftnl/setelem.js';

/** The datagrams of a reply fixture, one per line; `#` lines are comments. */
function replies(name: string): Buffer[] {
  const text = readFileSync(new URL(`../../../src/netlink/nftnl/fixtures/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => Buffer.from(l.trim(), 'hex'));
}

// The port id the kernel answered to when the fixtures were recorded.
function portIdOf(datagrams: Buffer[]): number {
  const first = datagrams[0];
  assert.ok(first !== undefined);
  return decodeMessages(first)[0]?.pid ?? -1;
}

const ref = (set: string): NftSetRef => ({ family: NFPROTO_INET, table: 'ctnet', set });
const key = (port: number): NftField[] => [{ type: 'inet_proto', value: 6 }, { type: 'inet_service', value: port }];
const addr = (value: string): NftField[] => [{ type: 'ipv4_addr', value }];
const comment = 'ctnet ep e1e2';

// The batches capture.sh sent, rebuilt: the answers name their messages by seq only.
const ACKED = nftBatch([
  ...newSetElemMessages(ref('pub4_any_port'), [{ key: key(8080), data: [{ type: 'inet_service', value: 80 }], comment }]),
  ...newSetElemMessages(ref('pub4_any_addr'), [{ key: key(8080), data: addr('10.99.1.2'), comment }]),
]);
const CLASH = nftBatch([
  ...newSetElemMessages(ref('pub4_any_addr'), [
    { key: key(9090), data: addr('10.99.1.2'), comment },
    { key: key(8080), data: addr('10.99.1.3'), comment },
  ]),
  ...newSetElemMessages(ref('pub4_any_port'), [{ key: key(9090), data: [{ type: 'inet_service', value: 90 }], comment }]),
]);
const MISSING = nftBatch(newSetElemMessages(ref('pub6_any_port'), [{ key: key(8080), data: [{ type: 'inet_service', value: 80 }], comment }]));

function collect(messages: BatchMessage[], firstSeq: number, datagrams: Buffer[]): BatchAnswers {
  const answers = new BatchAnswers(messages, firstSeq, portIdOf(datagrams));
  for (const d of datagrams) answers.take(d);
  return answers;
}

describe('BatchAnswers against recorded kernel answers', () => {
  test('one ACK per change and none for the markers: done, no failure', () => {
    const datagrams = replies('reply-acks.hex');
    assert.equal(datagrams.length, 2);
    const answers = new BatchAnswers(ACKED, 100, portIdOf(datagrams));
    assert.equal(answers.done, false);
    answers.take(datagrams[0] ?? Buffer.alloc(0));
    assert.equal(answers.done, false);
    answers.take(datagrams[1] ?? Buffer.alloc(0));
    assert.equal(answers.done, true);
    assert.equal(answers.failure, undefined);
  });

  test('a clash: EEXIST naming the element the extended ack points at; the other change still answered', () => {
    const answers = collect(CLASH, 200, replies('reply-eexist.hex'));
    assert.equal(answers.done, true);
    const err = answers.failure;
    assert.ok(err instanceof NetlinkError);
    assert.equal(err.op, 'NFT_MSG_NEWSETELEM');
    assert.equal(err.object, 'pub4_any_addr tcp . 8080');
    assert.equal(err.errnoName, 'EEXIST');
    assert.equal(err.message, 'NFT_MSG_NEWSETELEM pub4_any_addr tcp . 8080 failed: EEXIST (File exists)');
  });

  test('a missing map: ENOENT, the offset points at the set name so the message names its only element', () => {
    const answers = collect(MISSING, 300, replies('reply-enoent.hex'));
    assert.equal(answers.done, true);
    assert.equal(answers.failure?.errnoName, 'ENOENT');
    assert.equal(answers.failure?.message, 'NFT_MSG_NEWSETELEM pub6_any_port tcp . 8080 failed: ENOENT (No such file or directory)');
  });

  test('answers to other sequence numbers or from another port are not ours', () => {
    const datagrams = replies('reply-acks.hex');
    assert.equal(collect(ACKED, 500, datagrams).done, false);
    const answers = new BatchAnswers(ACKED, 100, portIdOf(datagrams) + 1);
    for (const d of datagrams) answers.take(d);
    assert.equal(answers.done, false);
  });

  test('a marker refused (the batch as a whole) is a failure even though it asked for no ACK', () => {
    const answers = new BatchAnswers(MISSING, 10, 42);
    const errno = Buffer.alloc(4 + 16);
    errno.writeInt32LE(-95, 0); // EOPNOTSUPP: no nf_tables subsystem
    answers.take(encodeMessage({ type: NLMSG_ERROR, flags: 0, seq: 10, pid: 42 }, errno));
    assert.equal(answers.done, false);
    assert.equal(answers.failure?.message, 'NFNL_MSG_BATCH_BEGIN nf_tables batch failed: EOPNOTSUPP (Operation not supported)');
  });
});

describe('encodeBatch()', () => {
  test('messages back to back, each 4-byte aligned, numbered from firstSeq', () => {
    const odd: BatchMessage = { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, payload: Buffer.from([1, 2, 3]) };
    const datagram = encodeBatch([odd, odd], 41);
    assert.equal(datagram.length, 2 * 20);
    assert.deepEqual(
      decodeMessages(datagram).map((m) => [m.seq, m.payload.length]),
      [
        [41, 3],
        [42, 3],
      ],
    );
  });

  test('batchSummary() counts the operations', () => {
    assert.equal(batchSummary(CLASH), 'NFNL_MSG_BATCH_BEGIN, NFT_MSG_NEWSETELEM x2, NFNL_MSG_BATCH_END');
    assert.equal(batchSummary([{ type: RTM_NEWLINK, flags: 0, payload: Buffer.alloc(0) }]), 'RTM_NEWLINK');
  });
});
