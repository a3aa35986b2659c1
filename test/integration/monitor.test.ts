/**
 * The kernel monitor against the real kernel, in the sandbox: events arrive by themselves (the event
 * loop calls back; the test never reads a socket), in namespaces other than the caller's too, an
 * overflowing receive buffer is reported as an overrun after which events flow on, and nothing
 * arrives after close().
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelMonitor, type KernelEvent, type KernelMonitorOptions } from '../../src/netlink/monitor.js';
import { newNetns, sandboxSkipReason, sh } from '../helpers/sandbox.js';

const skip = sandboxSkipReason() ?? false;

/** A monitor whose events collect in a list, closed after the test. */
function collecting(t: TestContext, options: Omit<KernelMonitorOptions, 'onEvent' | 'onError'> = {}): { events: KernelEvent[]; monitor: KernelMonitor; next: (match: (e: KernelEvent) => boolean) => Promise<KernelEvent> } {
  const events: KernelEvent[] = [];
  const waiters: { match: (e: KernelEvent) => boolean; resolve: (e: KernelEvent) => void }[] = [];
  const monitor = KernelMonitor.open({
    ...options,
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.match(e)) w.resolve(e);
        else waiters.push(w);
      }
    },
    onError: (err) => {
      throw err;
    },
  });
  t.after(() => { monitor.close(); });
  const next = (match: (e: KernelEvent) => boolean): Promise<KernelEvent> => {
    const seen = events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return Promise.race([
      new Promise<KernelEvent>((resolve) => waiters.push({ match, resolve })),
      sleep(5000).then(() => Promise.reject(new Error('no such event within 5 s'))),
    ]);
  };
  return { events, monitor, next };
}

describe('kernel monitor', { skip }, () => {
  test('link, address, forwarding and ruleset changes arrive without being asked for', async (t) => {
    const { next } = collecting(t);
    await sh('ip', ['link', 'add', 'mon0', 'type', 'bridge']);
    t.after(() => sh('ip', ['link', 'del', 'mon0']).catch(() => undefined));
    await next((e) => e.type === 'link' && e.op === 'new' && e.link.name === 'mon0');
    await sh('ip', ['addr', 'add', '10.97.0.1/24', 'dev', 'mon0']);
    await sh('ip', ['addr', 'del', '10.97.0.1/24', 'dev', 'mon0']);
    await next((e) => e.type === 'address' && e.op === 'del' && e.address.prefix === 24);
    await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    await next((e) => e.type === 'netconf' && e.netconf.scope === 'all' && e.netconf.family === 4 && e.netconf.forwarding === false);
    await sh('nft', ['add', 'table', 'inet', 'montest']);
    await sh('nft', ['delete', 'table', 'inet', 'montest']);
    await next((e) => e.type === 'nftables' && e.change.object === 'table' && e.change.op === 'del' && e.change.table === 'montest');
    await sh('ip', ['link', 'del', 'mon0']);
    await next((e) => e.type === 'link' && e.op === 'del' && e.link.name === 'mon0');
  });

  test('a monitor of another namespace sees that namespace only', async (t) => {
    const ns = await newNetns(t, 'mon');
    const fd = openSync(`/run/netns/${ns}`, 'r');
    t.after(() => { closeSync(fd); });
    const { events, next } = collecting(t, { netnsFd: fd, sources: ['rtnetlink'] });
    await sh('ip', ['link', 'add', 'monhere', 'type', 'bridge']);
    t.after(() => sh('ip', ['link', 'del', 'monhere']).catch(() => undefined));
    await sh('ip', ['-n', ns, 'link', 'add', 'monthere', 'type', 'bridge']);
    await next((e) => e.type === 'link' && e.link.name === 'monthere');
    assert.ok(!events.some((e) => e.type === 'link' && e.link.name === 'monhere'));
  });

  test('an overflowing receive buffer is reported as an overrun, and events flow on', async (t) => {
    const { next } = collecting(t, { sources: ['nftables'] });
    // 60000 elements in one transaction while the event loop is blocked: far more notifications
    // than the 1 MiB receive buffer holds before the monitor gets to read.
    const elements = Array.from({ length: 60000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`).join(', ');
    execFileSync('nft', ['-f', '-'], { input: `table inet monflood { set s { type ipv4_addr; }; }\nadd element inet monflood s { ${elements} }\n` });
    t.after(() => sh('nft', ['delete', 'table', 'inet', 'monflood']).catch(() => undefined));
    await next((e) => e.type === 'overrun' && e.source === 'nftables');
    await sh('nft', ['delete', 'table', 'inet', 'monflood']);
    await next((e) => e.type === 'nftables' && e.change.object === 'table' && e.change.table === 'monflood' && e.change.op === 'del');
  });

  test('nothing arrives after close()', async (t) => {
    const { events, monitor, next } = collecting(t, { sources: ['rtnetlink'] });
    await sh('ip', ['link', 'add', 'mon1', 'type', 'bridge']);
    t.after(() => sh('ip', ['link', 'del', 'mon1']).catch(() => undefined));
    await next((e) => e.type === 'link' && e.link.name === 'mon1');
    monitor.close();
    monitor.close();
    const count = events.length;
    await sh('ip', ['link', 'del', 'mon1']);
    await sleep(200);
    assert.equal(events.length, count);
  });
});
