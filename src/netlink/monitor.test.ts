/**
 * The decoding of the kernel's change notifications against datagrams a monitor really received
 * while `ip`, `sysctl` and `nft` broke what ctnet builds (src/netlink/fixtures/events-*.hex,
 * recorded by test/fixtures/capture-events.ts in the sandbox). No root needed.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { formatIp } from '../inet/ip.js';
import { decodeMessages } from './message.js';
import { decodeEvent, type KernelEvent, type MonitorSource } from './monitor.js';
import { NFPROTO_INET } from './nftnl/constants.js';

/** The events of a fixture, in the order the kernel sent them. Compiled tests live in dist/src/netlink/. */
function events(name: string, source: MonitorSource): KernelEvent[] {
  const text = readFileSync(new URL(`../../../src/netlink/fixtures/${name}`, import.meta.url), 'utf8');
  const datagrams = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => Buffer.from(l, 'hex'));
  return datagrams.flatMap((d) => decodeMessages(d).flatMap((m) => decodeEvent(source, m) ?? []));
}

/** `link del capbr0 up=false master=- alias=...` for link events; other events left out. */
function linkLines(list: readonly KernelEvent[]): string[] {
  return list.flatMap((e) =>
    e.type === 'link' ? [`link ${e.op} ${e.link.name} up=${e.link.up} master=${e.link.masterIndex ?? '-'} alias=${e.link.alias ?? '-'} mac=${e.link.mac ?? '-'}`] : [],
  );
}

const BRIDGE = 'alias=ctnet:0a1b2c3d:00112233aabbccdd mac=02:00:00:00:01:01';
const HOST_END = 'alias=ctnet:0a1b2c3d:eeff001122334455 mac=02:00:00:00:01:02';

describe('rtnetlink notifications', () => {
  test('ip link set BRIDGE down: RTM_NEWLINK of the bridge, no longer up, with its mark', () => {
    assert.deepEqual(linkLines(events('events-link-down.hex', 'rtnetlink')).at(-1), `link new capbr0 up=false master=- ${BRIDGE}`);
  });

  test('ip link del BRIDGE: RTM_DELLINK with the whole link, mark and MAC included', () => {
    assert.deepEqual(linkLines(events('events-link-del.hex', 'rtnetlink')).at(-1), `link del capbr0 up=false master=- ${BRIDGE}`);
  });

  test('ip addr del GATEWAY: RTM_DELADDR naming the address and the link', () => {
    const list = events('events-addr-del.hex', 'rtnetlink');
    assert.deepEqual(
      list.map((e) => (e.type === 'address' ? `${e.op} ${formatIp(e.address.ip)}/${e.address.prefix} index ${e.address.index}` : e.type)),
      ['del 10.99.0.1/24 index 2'],
    );
  });

  test('ip netns del: the host end of the dead namespace veth pair goes with RTM_DELLINK, its mark included', () => {
    const lines = linkLines(events('events-netns-del.hex', 'rtnetlink'));
    assert.equal(lines.at(-1), `link del cap0host up=false master=- ${HOST_END}`);
    // The bridge's own AF_BRIDGE port messages (the port leaving) are not link events.
    assert.ok(lines.every((l) => l.startsWith('link new') || l.startsWith('link del cap0host')), lines.join('\n'));
  });

  test('forwarding switched off: RTM_NEWNETCONF for all, default and each link, per family', () => {
    const list = events('events-forwarding-off.hex', 'rtnetlink').flatMap((e) => (e.type === 'netconf' ? [e.netconf] : []));
    const all = list.filter((n) => n.scope === 'all');
    assert.deepEqual(all, [
      { family: 4, scope: 'all', index: -1, forwarding: false },
      { family: 6, scope: 'all', index: -1, forwarding: false },
    ]);
    assert.ok(list.some((n) => n.scope === 'default' && n.family === 4 && n.forwarding === false));
    assert.ok(list.some((n) => n.scope === 'link' && n.index === 1 && n.forwarding === false));
  });
});

describe('nf_tables notifications', () => {
  const changes = (name: string): unknown[] => events(name, 'nftables').map((e) => (e.type === 'nftables' ? e.change : e));

  test('nft flush ruleset: the rules, sets and chains of each table, then the table', () => {
    const at = { op: 'del', family: NFPROTO_INET, table: 'ctnet' };
    assert.deepEqual(changes('events-nft-flush-ruleset.hex'), [
      { ...at, object: 'rule', chain: 'n-a1b2c3-in', comment: 'ctnet net a1b2c3' },
      { ...at, object: 'set', set: 'pub4_any_port' },
      { ...at, object: 'chain', chain: 'n-a1b2c3-in' },
      { ...at, object: 'table' },
    ]);
  });

  test('nft flush chain: each rule deleted, with its owner comment', () => {
    assert.deepEqual(changes('events-nft-flush-chain.hex')[0], { op: 'del', family: NFPROTO_INET, table: 'ctnet', object: 'rule', chain: 'n-a1b2c3-in', comment: 'ctnet net a1b2c3' });
  });

  test('nft delete element: the set and the element comments', () => {
    assert.deepEqual(changes('events-nft-delete-element.hex')[0], { object: 'element', op: 'del', family: NFPROTO_INET, table: 'ctnet', set: 'pub4_any_port', comments: ['ctnet ep e1e2'] });
  });

  test('messages of another subsystem are no nf_tables events', () => {
    const [line] = readFileSync(new URL('../../../src/netlink/fixtures/events-addr-del.hex', import.meta.url), 'utf8').split('\n').filter((l) => !l.startsWith('#'));
    const [msg] = decodeMessages(Buffer.from(line ?? '', 'hex'));
    assert.ok(msg !== undefined);
    assert.equal(decodeEvent('nftables', msg), undefined);
  });
});
