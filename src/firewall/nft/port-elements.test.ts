import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST } from '../../netlink/constants.js';
import { NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM, NFPROTO_INET, nftMsgType } from '../../netlink/nftnl/constants.js';
import { decodeNftValue, formatNftValue, type NftFieldType } from '../../netlink/nftnl/data.js';
import { decodeSetElemList } from '../../netlink/nftnl/setelem.js';
import type { BatchMessage } from '../../netlink/batch.js';
import type { FirewallEndpoint } from '../driver.js';
import { portsSetupMessages, portsTeardownMessages } from './port-elements.js';
import { buildPortsSetup, buildPortsTeardown } from './port-rules.js';
import type { NftCommand } from './schema.js';
import { TCP_ANY, UDP_ONE_IP, V6_ANY, V6_ONE_IP, endpoint } from './test-fixtures.js';

// The field types of a published-port map's keys and data, from its name (`pub6_ip_addr`).
function mapTypes(name: string): { key: NftFieldType[]; data: NftFieldType[] } {
  const m = /^pub([46])_(ip|any)_(addr|port)$/.exec(name);
  assert.ok(m !== null, name);
  const addr: NftFieldType = m[1] === '4' ? 'ipv4_addr' : 'ipv6_addr';
  return {
    key: m[2] === 'ip' ? [addr, 'inet_proto', 'inet_service'] : ['inet_proto', 'inet_service'],
    data: m[3] === 'addr' ? [addr] : ['inet_service'],
  };
}

/** `pub4_any_addr tcp . 8080 -> 10.99.1.2 (ctnet ep e1e2)` for each element the messages carry, in order. */
function netlinkElements(messages: BatchMessage[]): string[] {
  return messages.flatMap((m) => {
    const list = decodeSetElemList(m.payload);
    assert.equal(list.family, NFPROTO_INET);
    assert.equal(list.table, 'ctnet');
    const types = mapTypes(list.set);
    return list.elements.map((e) => {
      const key = formatNftValue(decodeNftValue(e.key, types.key));
      if (e.data === undefined) return `${list.set} ${key}`;
      return `${list.set} ${key} -> ${formatNftValue(decodeNftValue(e.data, types.data))} (${e.comment ?? ''})`;
    });
  });
}

/** The same text for the `add element` / `delete element` commands of an nft JSON batch. */
function jsonElements(cmds: NftCommand[]): string[] {
  const text = (v: unknown): string => (typeof v === 'object' && v !== null && 'concat' in v && Array.isArray(v.concat) ? v.concat.join(' . ') : String(v));
  return cmds.flatMap((c) => {
    if ('add' in c && 'element' in c.add) {
      const { name, elem } = c.add.element;
      return (elem as unknown[]).map((e) => {
        const [k, data] = e as [{ elem: { val: unknown; comment?: string } }, unknown];
        return `${name} ${text(k.elem.val)} -> ${String(data)} (${k.elem.comment ?? ''})`;
      });
    }
    if ('delete' in c && 'element' in c.delete) {
      const { name, elem } = c.delete.element;
      return (elem as unknown[]).map((k) => `${name} ${text(k)}`);
    }
    return [];
  });
}

describe('portsSetupMessages()', () => {
  const all: FirewallEndpoint = endpoint(TCP_ANY, UDP_ONE_IP, V6_ANY, V6_ONE_IP);

  test('the same elements, data and comments as the nft batch, in the same order', () => {
    const messages = portsSetupMessages(all);
    assert.deepEqual(netlinkElements(messages), jsonElements(buildPortsSetup(all)));
    assert.deepEqual(netlinkElements(messages), [
      'pub4_ip_addr 192.0.2.10 . udp . 5353 -> 10.99.1.2 (ctnet ep e1e2)',
      'pub4_ip_port 192.0.2.10 . udp . 5353 -> 53 (ctnet ep e1e2)',
      'pub4_any_addr tcp . 8080 -> 10.99.1.2 (ctnet ep e1e2)',
      'pub4_any_port tcp . 8080 -> 80 (ctnet ep e1e2)',
      'pub6_ip_addr 2001:db8::10 . tcp . 8443 -> fd00:99:1::2 (ctnet ep e1e2)',
      'pub6_ip_port 2001:db8::10 . tcp . 8443 -> 443 (ctnet ep e1e2)',
      'pub6_any_addr tcp . 8080 -> fd00:99:1::2 (ctnet ep e1e2)',
      'pub6_any_port tcp . 8080 -> 80 (ctnet ep e1e2)',
    ]);
    for (const m of messages) {
      assert.equal(m.type, nftMsgType(NFT_MSG_NEWSETELEM));
      assert.equal(m.flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
    }
  });

  test('one message per map whatever the number of ports (while they fit one attribute)', () => {
    const range = [8080, 8081, 8082].map((hostPort) => ({ ...TCP_ANY, hostPort, containerPort: hostPort }));
    const messages = portsSetupMessages(endpoint(...range));
    assert.deepEqual(messages.map((m) => m.object), ['pub4_any_addr', 'pub4_any_port']);
    assert.deepEqual(netlinkElements(messages), jsonElements(buildPortsSetup(endpoint(...range))));
  });

  test('no ports give nothing; bad input throws like buildPortsSetup()', () => {
    assert.deepEqual(portsSetupMessages(endpoint()), []);
    assert.throws(() => portsSetupMessages(endpoint({ ...TCP_ANY, hostPort: 0 })), TypeError);
    assert.throws(() => portsSetupMessages({ ...endpoint(TCP_ANY), id: 'E1' }), TypeError);
    assert.throws(() => portsSetupMessages(endpoint(TCP_ANY, { ...TCP_ANY, containerPort: 81 })), TypeError);
  });
});

describe('portsTeardownMessages()', () => {
  test('the keys of the nft teardown batch, a mapping given twice deleted once', () => {
    const ep = endpoint(TCP_ANY, UDP_ONE_IP, V6_ANY, TCP_ANY);
    const messages = portsTeardownMessages(ep);
    assert.deepEqual(netlinkElements(messages), jsonElements(buildPortsTeardown(ep)));
    assert.deepEqual(netlinkElements(messages), [
      'pub4_ip_addr 192.0.2.10 . udp . 5353',
      'pub4_ip_port 192.0.2.10 . udp . 5353',
      'pub4_any_addr tcp . 8080',
      'pub4_any_port tcp . 8080',
      'pub6_any_addr tcp . 8080',
      'pub6_any_port tcp . 8080',
    ]);
    for (const m of messages) {
      assert.equal(m.type, nftMsgType(NFT_MSG_DELSETELEM));
      assert.equal(m.flags, NLM_F_REQUEST | NLM_F_ACK);
    }
    assert.deepEqual(portsTeardownMessages(endpoint()), []);
  });
});
