import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Ctnet } from '../index.js';
import { RoutedEngine } from './engine.js';

const dir = mkdtempSync(join(tmpdir(), 'ctnet-routed-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

/** A RoutedEngine on `socket` whose in-process engine is a fake that counts how often it was opened. */
function routed(socket: string): { engine: RoutedEngine; opened: () => number } {
  let opened = 0;
  const local = { listNetworks: () => [{ name: 'local' }], close: () => undefined } as unknown as Ctnet;
  const saved = process.env['CTNET_SOCKET'];
  process.env['CTNET_SOCKET'] = socket;
  try {
    const engine = new RoutedEngine({ stateDir: '/var/lib/ctnet', onSysctlChange: () => undefined, onHostChange: () => undefined, openLocal: () => { opened++; return Promise.resolve(local); } });
    return { engine, opened: () => opened };
  } finally {
    if (saved === undefined) delete process.env['CTNET_SOCKET'];
    else process.env['CTNET_SOCKET'] = saved;
  }
}

describe('RoutedEngine', () => {
  it('runs a call in this process when no agent listens', async () => {
    const { engine, opened } = routed(join(dir, 'none.sock'));
    assert.deepEqual(await engine.listNetworks(), [{ name: 'local' }]);
    assert.deepEqual(await engine.listNetworks(), [{ name: 'local' }]);
    assert.equal(opened(), 1);
  });

  it('lets the agent serve the calls it takes, opening nothing here, and runs here those it answers 421', async () => {
    const socket = join(dir, 'agent.sock');
    let misdirect = false;
    const server = createServer((_req, res) => {
      res.statusCode = misdirect ? 421 : 200;
      res.end(misdirect ? '{"error":"stopping","code":"CTNET_MISDIRECTED"}' : '{"result":[{"name":"agent"}],"sysctlChanges":[]}');
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    after(() => { server.close(); });
    const { engine, opened } = routed(socket);
    assert.deepEqual(await engine.listNetworks(), [{ name: 'agent' }]);
    assert.equal(opened(), 0);
    misdirect = true;
    assert.deepEqual(await engine.listNetworks(), [{ name: 'local' }]);
    assert.equal(opened(), 1);
  });
});
