/**
 * The chain and rule dumps against the kernel's recorded answers (fixtures/dump-*.hex, recorded
 * by fixtures/capture-dumps.sh in the sandbox): a host where iptables-nft left FORWARD at policy
 * drop with a rule of ctnet's and one of its own, beside another table's accepting forward chain.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { encodeBatch } from '../batch.js';
import { NLM_F_DUMP, NLM_F_REQUEST } from '../constants.js';
import { decodeChain, listChainsMessage } from './chain.js';
import { NF_ACCEPT, NF_DROP, NF_INET_FORWARD, NFPROTO_INET, NFPROTO_IPV4, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE, nftMsgType } from './constants.js';
import { encodeNfgenmsg } from './nfnetlink.js';
import { decodeRule, listRulesMessage } from './rule.js';
import { dumpPayloads } from './test-fixtures.js';

describe('chain and rule dumps', () => {
  test('listChainsMessage() asks for every chain of every family', () => {
    const m = listChainsMessage();
    assert.equal(m.type, nftMsgType(NFT_MSG_GETCHAIN));
    assert.equal(m.flags, NLM_F_REQUEST | NLM_F_DUMP);
    // length 20, NFT_MSG_GETCHAIN, REQUEST|DUMP, seq 0, port 0; nfgenmsg NFPROTO_UNSPEC, no attributes
    assert.equal(encodeBatch([m], 0).toString('hex'), ['14000000', '040a', '0103', '00000000', '00000000', '00000000'].join(''));
  });

  test('decodeChain() reads name, hook, priority and policy; a regular chain has none of them', () => {
    assert.deepEqual(dumpPayloads('dump-chains.hex').map(decodeChain), [
      { family: NFPROTO_IPV4, table: 'filter', chain: 'FORWARD', hook: NF_INET_FORWARD, priority: 0, policy: NF_DROP },
      { family: NFPROTO_INET, table: 'other', chain: 'filter_FORWARD', hook: NF_INET_FORWARD, priority: 10, policy: NF_ACCEPT },
      { family: NFPROTO_INET, table: 'other', chain: 'helper' },
    ]);
  });

  test("listRulesMessage() names the chain; decodeRule() reads each rule's handle and userdata comment", () => {
    const m = listRulesMessage({ family: NFPROTO_IPV4, table: 'filter', chain: 'FORWARD' });
    assert.equal(m.type, nftMsgType(NFT_MSG_GETRULE));
    assert.equal(m.flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert.equal(m.object, 'filter FORWARD');
    assert.equal(m.payload.subarray(0, 4).toString('hex'), encodeNfgenmsg(NFPROTO_IPV4).toString('hex'));
    // ctnet's rule carries its comment in userdata; iptables-nft's `-m comment` is an xt match, not read.
    assert.deepEqual(dumpPayloads('dump-rules.hex').map(decodeRule), [
      { family: NFPROTO_IPV4, table: 'filter', chain: 'FORWARD', handle: 3, comment: 'ctnet net a1b2c3' },
      { family: NFPROTO_IPV4, table: 'filter', chain: 'FORWARD', handle: 2 },
    ]);
  });

  test('a rule without its handle is refused', () => {
    assert.throws(() => decodeRule(encodeNfgenmsg(NFPROTO_IPV4)), RangeError);
  });
});
