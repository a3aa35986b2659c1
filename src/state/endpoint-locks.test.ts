import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseCidr, parseIpWithPrefix } from '../inet/cidr.js';
import { parseIp } from '../inet/ip.js';
import { EndpointLocks } from './endpoint-locks.js';
import { ifFileLockFree, removableLock, tryRemovableLock } from './file-lock.js';
import type { EndpointRecord } from './records.js';
import { StateStore } from './store.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-locks-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

test('a removable lock excludes a second holder, even in the same process, until released', async (t) => {
  const path = join(tempDir(t), 'x.lock');
  const first = tryRemovableLock(path);
  assert.ok(first !== undefined);
  assert.equal(tryRemovableLock(path), undefined);
  await assert.rejects(removableLock(path, { timeoutMs: 20 }), /is held by another process \(waited 20 ms\); try again later/);
  assert.equal(await ifFileLockFree(path, () => Promise.resolve()), false);
  first.release({ remove: true });
  assert.equal(existsSync(path), false);
  const second = tryRemovableLock(path);
  assert.ok(second !== undefined);
  second.release();
  assert.equal(existsSync(path), true);
});

test('a waiter for a removable lock gets it on the file at the path once the holder deleted its own', async (t) => {
  const path = join(tempDir(t), 'x.lock');
  const holder = tryRemovableLock(path);
  assert.ok(holder !== undefined);
  const waiting = removableLock(path, { timeoutMs: 1000 });
  holder.release({ remove: true });
  const won = await waiting;
  assert.equal(existsSync(path), true, 'the waiter locked a file that is no longer there');
  // Whoever comes next meets the waiter's lock, not a free file.
  assert.equal(tryRemovableLock(path), undefined);
  won.release();
});

test('EndpointLocks keep the file of a half-made record only, and tell a live holder', async (t) => {
  const dir = tempDir(t);
  const store = StateStore.open(dir);
  t.after(() => { store.close(); });
  const lockDir = join(dir, 'locks');
  mkdirSync(lockDir);
  const locks = new EndpointLocks(lockDir, store, 50);
  store.insertNetwork({
    id: 'a1', name: 'n', driver: 'bridge', bridge: 'ct-n', mtu: 1500, nat: true, internal: false,
    subnets: [{ subnet: parseCidr('10.9.0.0/24'), gateway: parseIp('10.9.0.1') }], status: 'ready', created: new Date().toISOString(),
  });
  const ep: EndpointRecord = {
    id: 'e1', networkId: 'a1', container: 'c1', netns: '/run/netns/c1', netnsId: '1:2', ifname: 'eth0', hostIfname: 'cte1',
    mac: '02:00:00:00:00:01', addresses: [parseIpWithPrefix('10.9.0.2/24')], ports: [], owner: 'cli', status: 'creating', created: new Date().toISOString(),
  };
  const held = locks.holdNew(ep.id);
  store.insertEndpoint(ep);
  assert.equal(await locks.ifFree(ep.id, () => Promise.resolve()), false, 'a live connect was taken for dead');
  await assert.rejects(locks.with(ep.id, () => Promise.resolve()), /try again later/);
  held.release();
  assert.deepEqual(locks.listed(), ['e1'], 'the lock file of a half-made record went');
  assert.equal(await locks.ifFree(ep.id, () => Promise.resolve()), true);
  store.setEndpointStatus(ep.id, 'ready');
  await locks.with(ep.id, () => Promise.resolve());
  assert.deepEqual(readdirSync(lockDir), []);
  const e2 = locks.holdNew('e2');
  assert.throws(() => locks.holdNew('e2'), /held by another process/);
  e2.release();
});
