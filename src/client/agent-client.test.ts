import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConflictError, SystemError, TimeoutError } from '../errors.js';
import type { SysctlChange } from '../index.js';
import { AgentClient, AgentUnavailable } from './agent-client.js';
import { HEADER, namespaceIdentity } from './api.js';

const dir = mkdtempSync(join(tmpdir(), 'ctnet-client-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });
let n = 0;

/** A fake agent on a socket of its own, answering every request with `handle`. */
async function fakeAgent(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ socket: string; server: Server }> {
  const socket = join(dir, `agent-${n++}.sock`);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => { handle(req, body, res); });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  after(() => { server.closeAllConnections(); server.close(); });
  return { socket, server };
}

function client(socket: string, more: { timeoutMs?: number; onSysctlChange?: (c: SysctlChange) => void } = {}): AgentClient {
  return new AgentClient({ socketPath: socket, stateDir: '/var/lib/ctnet test', ...more });
}

describe('AgentClient', () => {
  it('sends the state directory and the caller namespaces, parameters in the path and options in the body', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const { socket } = await fakeAgent((req, body, res) => {
      seen = { ...(req.method === undefined ? {} : { method: req.method }), ...(req.url === undefined ? {} : { url: req.url }), headers: req.headers, body };
      res.end(JSON.stringify({ result: { id: 'e1' }, sysctlChanges: [] }));
    });
    const ep = await client(socket).connect('n1', '/run/netns/c 1', { ips: ['10.0.0.5'] });
    assert.deepEqual(ep, { id: 'e1' });
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/v1/networks/n1/endpoints');
    assert.deepEqual(JSON.parse(seen.body ?? ''), { container: '/run/netns/c 1', options: { ips: ['10.0.0.5'] } });
    assert.equal(decodeURIComponent(String(seen.headers?.[HEADER.stateDir])), '/var/lib/ctnet test');
    assert.equal(seen.headers?.[HEADER.namespaces], namespaceIdentity());
  });

  it('gives null results back as undefined', async () => {
    const { socket } = await fakeAgent((_req, _body, res) => res.end(JSON.stringify({ result: null, sysctlChanges: [] })));
    assert.equal(await client(socket).getEndpoint('n1', 'c1', { owner: 'cni' }), undefined);
  });

  it('is unavailable when no agent listens, or the agent answers 421', async () => {
    await assert.rejects(client(join(dir, 'nobody.sock')).listNetworks(), AgentUnavailable);
    const { socket } = await fakeAgent((_req, _body, res) => {
      res.statusCode = 421;
      res.end(JSON.stringify({ error: 'the agent serves another state directory', code: 'CTNET_MISDIRECTED' }));
    });
    await assert.rejects(client(socket).listNetworks(), (err: unknown) => err instanceof AgentUnavailable && /another state directory/.test(err.message));
  });

  it("throws the agent's error as its class, after telling the sysctls the call changed", async () => {
    const change: SysctlChange = { key: 'net.ipv4.ip_forward', previous: '0', value: '1', why: 'forwarding', ownLink: false };
    const { socket } = await fakeAgent((_req, _body, res) => {
      res.statusCode = 409;
      res.end(JSON.stringify({ error: 'network "n1" already exists', code: 'CTNET_CONFLICT', sysctlChanges: [change] }));
    });
    const told: SysctlChange[] = [];
    await assert.rejects(client(socket, { onSysctlChange: (c) => told.push(c) }).createNetwork({ name: 'n1', subnets: ['10.0.0.0/24'] }), (err: unknown) => err instanceof ConflictError && err.message === 'network "n1" already exists');
    assert.deepEqual(told, [change]);
  });

  it('fails with TimeoutError when the agent does not answer in time', async () => {
    const { socket } = await fakeAgent(() => undefined);
    await assert.rejects(client(socket, { timeoutMs: 100 }).listEndpoints(), (err: unknown) => err instanceof TimeoutError && /did not answer GET \/v1\/endpoints within 100 ms/.test(err.message));
  });

  it('fails, without running the call elsewhere, when the agent drops the connection after the request', async () => {
    const { socket } = await fakeAgent((req) => { req.socket.destroy(); });
    await assert.rejects(client(socket).removeNetwork('n1'), (err: unknown) => err instanceof SystemError && /closed the connection before answering DELETE \/v1\/networks\/n1/.test(err.message));
  });
});
