import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConflictError } from '../errors.js';
import { formatCidr, parseCidr } from '../inet/cidr.js';
import { formatIp, parseIp } from '../inet/ip.js';
import { type CursorMove, MemoryIpamStore, pickAddresses, restoreCursors } from './pool.js';

const DUAL = [
  { subnet: parseCidr('10.68.0.0/24'), gateway: parseIp('10.68.0.1') },
  { subnet: parseCidr('fd00:68::/64'), gateway: parseIp('fd00:68::1') },
];

function pickText(store: MemoryIpamStore, requested = new Map<4 | 6, ReturnType<typeof parseIp>>()): string[] {
  const { picked } = pickAddresses(store, 'n1', DUAL, requested);
  for (const p of picked) store.take('n1', p.ip);
  return picked.map((p) => formatIp(p.ip));
}

function cursorText(c: CursorMove): { subnet: string; previous: string | undefined; set: string } {
  return { subnet: formatCidr(c.subnet), previous: c.previous === undefined ? undefined : formatIp(c.previous), set: formatIp(c.set) };
}

describe('pickAddresses()', () => {
  it('one address per subnet, round robin after the last one, the gateway skipped', () => {
    const store = new MemoryIpamStore();
    assert.deepEqual(pickText(store), ['10.68.0.2', 'fd00:68::2']);
    assert.deepEqual(pickText(store), ['10.68.0.3', 'fd00:68::3']);
  });

  it('a requested address of one family, the next free one of the other; the cursor moves only for the latter', () => {
    const store = new MemoryIpamStore();
    const { picked, cursors } = pickAddresses(store, 'n1', DUAL, new Map([[4, parseIp('10.68.0.50')]]));
    assert.deepEqual(picked.map((p) => formatIp(p.ip)), ['10.68.0.50', 'fd00:68::2']);
    assert.deepEqual(cursors.map(cursorText), [{ subnet: 'fd00:68::/64', previous: undefined, set: 'fd00:68::2' }]);
  });

  it('refuses a requested address that is taken', () => {
    const store = new MemoryIpamStore();
    store.take('n1', parseIp('10.68.0.9'));
    assert.throws(() => pickAddresses(store, 'n1', DUAL, new Map([[4, parseIp('10.68.0.9')]])), ConflictError);
  });
});

describe('restoreCursors()', () => {
  it('puts the cursors back, so the next endpoint gets the same addresses', () => {
    const store = new MemoryIpamStore();
    pickText(store);
    const { picked, cursors } = pickAddresses(store, 'n1', DUAL, new Map());
    assert.equal(formatIp(picked[0]?.ip ?? parseIp('0.0.0.0')), '10.68.0.3');
    restoreCursors(store, 'n1', cursors);
    assert.deepEqual(pickText(store), ['10.68.0.3', 'fd00:68::3']);
  });

  it('leaves a cursor another allocation has moved since', () => {
    const store = new MemoryIpamStore();
    const first = pickAddresses(store, 'n1', DUAL, new Map());
    for (const p of first.picked) store.take('n1', p.ip);
    pickText(store);
    restoreCursors(store, 'n1', first.cursors);
    assert.deepEqual(store.lastAllocated('n1', parseCidr('10.68.0.0/24')), parseIp('10.68.0.3'));
  });

  it('a first allocation undone leaves the subnet as if none had happened', () => {
    const store = new MemoryIpamStore();
    const { cursors } = pickAddresses(store, 'n1', DUAL, new Map());
    restoreCursors(store, 'n1', cursors);
    assert.deepEqual(pickText(store), ['10.68.0.2', 'fd00:68::2']);
  });
});
