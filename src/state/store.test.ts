import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { ConflictError, NotFoundError, StateError } from '../errors.js';
import { parseCidr, parseIpWithPrefix } from '../inet/cidr.js';
import { parseIp } from '../inet/ip.js';
import type { EndpointRecord, NetworkRecord, PortRecord } from './records.js';
import { MIGRATIONS, STATE_SCHEMA_VERSION } from './schema.js';
import { PORT_HOLDER_SQL, STATE_DB_FILE, StateStore } from './store.js';

/** A fresh state directory, removed when the test ends. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-state-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

/** A store in a fresh directory, closed (before the directory goes) when the test ends. */
function openStore(t: TestContext): { store: StateStore; dir: string } {
  const dir = tempDir(t);
  const store = StateStore.open(dir);
  t.after(() => { store.close(); });
  return { store, dir };
}

function network(over: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    id: 'net-id-1',
    name: 'net1',
    driver: 'bridge',
    bridge: 'ctnet0',
    mtu: 1500,
    nat: true,
    internal: false,
    subnets: [
      { subnet: parseCidr('10.68.0.0/24'), gateway: parseIp('10.68.0.1') },
      { subnet: parseCidr('fd00:68::/64'), gateway: parseIp('fd00:68::1') },
    ],
    status: 'ready',
    created: '2024-05-01T10:00:00.000Z',
    ...over,
  };
}

function endpoint(over: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    id: 'ep-id-1',
    networkId: 'net-id-1',
    container: 'pid:4242',
    netns: '/proc/4242/ns/net',
    netnsId: '4:4026532001',
    ifname: 'eth0',
    hostIfname: 'veth-ep1',
    mac: '02:42:0a:44:00:02',
    addresses: ['10.68.0.2/24', 'fd00:68::2/64'].map(parseIpWithPrefix),
    ports: [],
    owner: 'cli',
    status: 'ready',
    created: '2024-05-01T10:00:01.000Z',
    ...over,
  };
}

/** Rows of a table, read past the store, so cascades are checked independently of its queries. */
function countRows(dir: string, table: 'allocations' | 'ipam_cursor', networkId: string): number {
  const db = new Database(join(dir, STATE_DB_FILE), { readonly: true });
  try {
    return db
      .prepare<[string], number>(`SELECT count(*) FROM ${table} WHERE network_id = ?`)
      .pluck()
      .get(networkId) ?? 0;
  } finally {
    db.close();
  }
}

function assertError(fn: () => unknown, cls: new (...args: never[]) => Error, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

describe('StateStore networks', () => {
  it('round-trips network records and lists them by name', (t) => {
    const { store } = openStore(t);
    const bridge = network();
    const ptp = network({ id: 'net-id-0', name: 'alpha', driver: 'ptp', bridge: null, nat: false, internal: true });
    store.insertNetwork(bridge);
    store.insertNetwork(ptp);

    assert.deepEqual(store.getNetwork('net1'), bridge);
    assert.deepEqual(store.getNetworkById('net-id-0'), ptp);
    assert.deepEqual(store.listNetworks(), [ptp, bridge]);
    assert.equal(store.getNetwork('nope'), undefined);
    assert.equal(store.getNetworkById('nope'), undefined);
  });

  it('rejects a second network with the same name or bridge', (t) => {
    const { store } = openStore(t);
    store.insertNetwork(network());
    assertError(
      () => { store.insertNetwork(network({ id: 'other' })); },
      ConflictError,
      'network "net1" already exists',
    );
    assertError(
      () => { store.insertNetwork(network({ id: 'other', name: 'net2' })); },
      ConflictError,
      'bridge "ctnet0" is already used by network "net1"',
    );
    // ptp networks have no bridge, and many of them may exist
    store.insertNetwork(network({ id: 'p1', name: 'p1', driver: 'ptp', bridge: null }));
    store.insertNetwork(network({ id: 'p2', name: 'p2', driver: 'ptp', bridge: null }));
    assert.deepEqual(
      store.listNetworks().map((n) => n.name),
      ['net1', 'p1', 'p2'],
    );
  });

  it('deletes a network and reports whether it existed', (t) => {
    const { store } = openStore(t);
    store.insertNetwork(network());
    assert.equal(store.deleteNetwork('net-id-1'), true);
    assert.equal(store.getNetwork('net1'), undefined);
    assert.equal(store.deleteNetwork('net-id-1'), false);
  });

  it('refuses to delete a network that still has endpoints', (t) => {
    const { store } = openStore(t);
    store.insertNetwork(network());
    store.insertEndpoint(endpoint());
    assertError(() => store.deleteNetwork('net-id-1'), ConflictError, 'network "net1" still has 1 endpoint');
    assert.ok(store.getNetwork('net1'));
  });
});

describe('StateStore endpoints', () => {
  it('round-trips endpoint records and allocates their addresses without prefix', (t) => {
    const { store } = openStore(t);
    store.insertNetwork(network());
    const ep = endpoint();
    store.insertEndpoint(ep);

    assert.deepEqual(store.getEndpoint('net-id-1', { owner: 'cli', container: 'pid:4242' }), ep);
    assert.deepEqual(store.getEndpointById('ep-id-1'), ep);
    assert.equal(store.getEndpoint('net-id-1', { owner: 'cli', container: 'pid:1' }), undefined);
    assert.equal(store.getEndpointById('nope'), undefined);
    assert.equal(store.countEndpoints('net-id-1'), 1);
    assert.deepEqual(store.allocatedAddresses('net-id-1'), new Set(['10.68.0.2', 'fd00:68::2']));
  });

  it('lists endpoints by filter, ordered by network name then creation', (t) => {
    const { store } = openStore(t);
    store.insertNetwork(network({ id: 'n-b', name: 'bravo', bridge: 'br-b' }));
    store.insertNetwork(network({ id: 'n-a', name: 'alpha', bridge: 'br-a' }));
    const b1 = endpoint({ id: 'b1', networkId: 'n-b', container: 'web', netns: '/run/netns/web', addresses: [] });
    const a2 = endpoint({
      id: 'a2',
      networkId: 'n-a',
      container: 'db',
      netns: '/run/netns/db',
      addresses: ['10.68.0.3/24'].map(parseIpWithPrefix),
      created: '2024-05-01T10:00:05.000Z',
    });
    const a1 = endpoint({
      id: 'a1',
      networkId: 'n-a',
      container: 'web',
      netns: '/run/netns/web',
      owner: 'cni',
      addresses: ['10.68.0.2/24'].map(parseIpWithPrefix),
      created: '2024-05-01T10:00:02.000Z',
    });
    for (const ep of [b1, a2, a1]) store.insertEndpoint(ep);

    assert.deepEqual(store.listEndpoints(), [a1, a2, b1]);
    assert.deepEqual(store.listEndpoints({ networkId: 'n-a' }), [a1, a2]);
    assert.deepEqual(store.listEndpoints({ container: 'web' }), [a1, b1]);
    assert.deepEqual(store.listEndpoints({ netns: '/run/netns/db' }), [a2]);
    assert.deepEqual(store.listEndpoints({ networkId: 'n-b', container: 'web' }), [b1]);
    assert.deepEqual(store.listEndpoints({ networkId: 'n-b', container: 'db' }), []);
    assert.equal(store.countEndpoints('n-a'), 2);
    assert.equal(store.countEndpoints('n-b'), 1);
  });

  it('rejects a container connected twice and an address in use, all or nothing', (t) => {
    const { store } = openStore(t);
    store.insertNetwork(network());
    store.insertEndpoint(endpoint());

    assertError(
      () => { store.insertEndpoint(endpoint({ id: 'ep-id-2', addresses: ['10.68.0.9/24'].map(parseIpWithPrefix) })); },
      ConflictError,
      'container "pid:4242" is already connected to network "net1" with interface "eth0"',
    );
    assertError(
      () => { store.insertEndpoint(endpoint({ id: 'ep-id-1', container: 'other', addresses: [] })); },
      ConflictError,
      'endpoint "ep-id-1" already exists',
    );
    // the first address is free, the second is taken: the endpoint row and the first allocation must
    // not stay behind, even when the caller catches the error inside its own transaction
    const clash = endpoint({ id: 'ep-id-3', container: 'c3', addresses: ['10.68.0.7/24', 'fd00:68::2/64'].map(parseIpWithPrefix) });
    store.transaction(() => {
      assertError(
        () => { store.insertEndpoint(clash); },
        ConflictError,
        'address "fd00:68::2" is already in use in network "net1"',
      );
    });
    assert.equal(store.getEndpointById('ep-id-3'), undefined);
    assert.deepEqual(store.allocatedAddresses('net-id-1'), new Set(['10.68.0.2', 'fd00:68::2']));
    assert.equal(store.countEndpoints('net-id-1'), 1);
  });

  it('rejects an endpoint or cursor of an unknown network', (t) => {
    const { store } = openStore(t);
    assertError(
      () => { store.insertEndpoint(endpoint({ networkId: 'ghost' })); },
      NotFoundError,
      'network with id "ghost" not found',
    );
    assertError(
      () => { store.setLastAllocated('ghost', parseCidr('10.68.0.0/24'), parseIp('10.68.0.2')); },
      NotFoundError,
      'network with id "ghost" not found',
    );
  });

  it('frees allocations with the endpoint and cursors with the network', (t) => {
    const { store, dir } = openStore(t);
    store.insertNetwork(network());
    store.insertEndpoint(endpoint());
    store.setLastAllocated('net-id-1', parseCidr('10.68.0.0/24'), parseIp('10.68.0.2'));
    store.setLastAllocated('net-id-1', parseCidr('10.68.0.0/24'), parseIp('10.68.0.3'));
    assert.deepEqual(store.lastAllocated('net-id-1', parseCidr('10.68.0.0/24')), parseIp('10.68.0.3'));
    assert.equal(store.lastAllocated('net-id-1', parseCidr('fd00:68::/64')), undefined);
    assert.equal(countRows(dir, 'allocations', 'net-id-1'), 2);

    assert.equal(store.deleteEndpoint('ep-id-1'), true);
    assert.equal(store.deleteEndpoint('ep-id-1'), false);
    assert.deepEqual(store.allocatedAddresses('net-id-1'), new Set());
    assert.equal(countRows(dir, 'allocations', 'net-id-1'), 0);

    assert.equal(countRows(dir, 'ipam_cursor', 'net-id-1'), 1);
    store.deleteNetwork('net-id-1');
    assert.equal(countRows(dir, 'ipam_cursor', 'net-id-1'), 0);
    // a network created again under the same id starts from scratch
    store.insertNetwork(network());
    assert.equal(store.lastAllocated('net-id-1', parseCidr('10.68.0.0/24')), undefined);
  });
});

describe('StateStore transactions', () => {
  it('rolls back everything when fn throws, and nested calls join the outer transaction', (t) => {
    const { store } = openStore(t);
    const boom = new Error('boom');
    assert.throws(
      () =>
        store.transaction(() => {
          store.insertNetwork(network());
          store.transaction(() => { store.insertEndpoint(endpoint()); });
          throw boom;
        }),
      (err) => err === boom,
    );
    assert.deepEqual(store.listNetworks(), []);
    assert.deepEqual(store.listEndpoints(), []);

    const result = store.transaction(() => {
      store.insertNetwork(network());
      return store.transaction(() => store.getNetwork('net1')?.id);
    });
    assert.equal(result, 'net-id-1');
  });
});

describe('StateStore open', () => {
  it('creates the directory with mode 0700', (t) => {
    const dir = join(tempDir(t), 'a', 'b');
    StateStore.open(dir).close();
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  it('keeps data across reopening and does not run migrations again', (t) => {
    const dir = tempDir(t);
    const first = StateStore.open(dir);
    first.insertNetwork(network());
    first.insertEndpoint(endpoint());
    first.close();

    // The v1 step is plain CREATE TABLE, so running it again would fail this open.
    const second = StateStore.open(dir);
    try {
      assert.deepEqual(second.getNetwork('net1'), network());
      assert.deepEqual(second.listEndpoints(), [endpoint()]);
      assert.deepEqual(second.allocatedAddresses('net-id-1'), new Set(['10.68.0.2', 'fd00:68::2']));
    } finally {
      second.close();
    }
    const db = new Database(join(dir, STATE_DB_FILE), { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), STATE_SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer schema', (t) => {
    const dir = tempDir(t);
    const path = join(dir, STATE_DB_FILE);
    const db = new Database(path);
    db.pragma(`user_version = ${STATE_SCHEMA_VERSION + 1}`);
    db.close();
    assertError(
      () => StateStore.open(dir),
      StateError,
      `open state database "${path}": database schema version ${STATE_SCHEMA_VERSION + 1} ` +
        `is newer than this ctnet supports (${STATE_SCHEMA_VERSION})`,
    );
  });

  it('migrates a version 1 database with its rows: every record ready, CLI and CNI names apart', (t) => {
    const dir = tempDir(t);
    const db = new Database(join(dir, STATE_DB_FILE));
    db.exec(MIGRATIONS[0] ?? '');
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO networks (id, name, driver, bridge, mtu, nat, internal, subnets, created)
       VALUES ('net-id-1', 'net1', 'bridge', 'ctnet0', 1500, 1, 0, '[{"subnet":"10.68.0.0/24","gateway":"10.68.0.1"}]', '2024-05-01T10:00:00.000Z')`,
    ).run();
    db.prepare(
      `INSERT INTO endpoints (id, network_id, container, netns, ifname, host_ifname, mac, addresses, ports, owner, created)
       VALUES ('ep-id-1', 'net-id-1', 'c1', '/run/netns/c1', 'eth0', 'ctep1', '02:42:0a:44:00:02', '["10.68.0.2/24"]',
               '[{"family":4,"protocol":"tcp","hostIp":null,"hostPort":8080,"containerPort":80}]', 'cli', '2024-05-01T10:00:01.000Z')`,
    ).run();
    db.prepare("INSERT INTO allocations (network_id, address, endpoint_id) VALUES ('net-id-1', '10.68.0.2', 'ep-id-1')").run();
    db.prepare("INSERT INTO published_ports (family, protocol, host_ip, host_port, endpoint_id) VALUES (4, 'tcp', '', 8080, 'ep-id-1')").run();
    db.close();

    const store = StateStore.open(dir);
    t.after(() => { store.close(); });
    assert.equal(store.getNetwork('net1')?.status, 'ready');
    const [ep] = store.listEndpoints();
    assert.deepEqual({ status: ep?.status, netnsId: ep?.netnsId, ports: ep?.ports.length }, { status: 'ready', netnsId: '', ports: 1 });
    assert.equal(store.isAllocated('net-id-1', parseIp('10.68.0.2')), true);
    assert.equal(store.portHolder({ family: 4, protocol: 'tcp', hostIp: null, hostPort: 8080 }), 'c1');
    // The cascades still hold after the rebuild of `endpoints`.
    store.deleteEndpoint('ep-id-1');
    assert.equal(store.isAllocated('net-id-1', parseIp('10.68.0.2')), false);
    assert.equal(store.portHolder({ family: 4, protocol: 'tcp', hostIp: null, hostPort: 8080 }), undefined);
    // A runtime's container id may equal a netns name the CLI connected.
    store.insertEndpoint(endpoint({ id: 'a', container: 'c1', owner: 'cli', addresses: ['10.68.0.3/24'].map(parseIpWithPrefix) }));
    store.insertEndpoint(endpoint({ id: 'b', container: 'c1', owner: 'cni', addresses: ['10.68.0.4/24'].map(parseIpWithPrefix) }));
    assert.equal(store.getEndpoint('net-id-1', { owner: 'cni', container: 'c1' })?.id, 'b');
    assert.equal(store.getEndpoint('net-id-1', { owner: 'cli', container: 'c1' })?.id, 'a');
  });

  it('records how far networks and endpoints are made', (t) => {
    const { store } = openStore(t);
    store.insertNetwork(network({ status: 'creating' }));
    assert.equal(store.isEmpty(), false);
    store.setNetworkStatus('net-id-1', 'ready');
    assert.equal(store.getNetwork('net1')?.status, 'ready');
    store.insertEndpoint(endpoint({ status: 'creating' }));
    store.setEndpointStatus('ep-id-1', 'removing');
    assert.equal(store.getEndpointById('ep-id-1')?.status, 'removing');
  });

  it('refuses a relative directory', () => {
    assert.throws(() => StateStore.open('relative/state'), /state directory "relative\/state" must be an absolute path/);
  });

  it('keeps addresses, subnets and host addresses as canonical text, and refuses text that does not parse', (t) => {
    const { store, dir } = openStore(t);
    store.insertNetwork(network());
    store.insertEndpoint(endpoint({ ports: [{ family: 6, protocol: 'udp', hostIp: parseIp('FD00:0::1'), hostPort: 53, containerPort: 53 }] }));
    const db = new Database(join(dir, STATE_DB_FILE));
    try {
      assert.equal(db.prepare<[], string>('SELECT subnets FROM networks').pluck().get(), '[{"subnet":"10.68.0.0/24","gateway":"10.68.0.1"},{"subnet":"fd00:68::/64","gateway":"fd00:68::1"}]');
      const row = db.prepare<[], { addresses: string; ports: string }>('SELECT addresses, ports FROM endpoints').get();
      assert.deepEqual(row, {
        addresses: '["10.68.0.2/24","fd00:68::2/64"]',
        ports: '[{"family":6,"protocol":"udp","hostIp":"fd00::1","hostPort":53,"containerPort":53}]',
      });
      db.prepare(`UPDATE networks SET subnets = '[{"subnet":"10.68.0.5/24","gateway":"10.68.0.1"}]'`).run();
      db.prepare(`UPDATE endpoints SET addresses = '["10.68.0.2"]'`).run();
    } finally {
      db.close();
    }
    assertError(() => store.getNetwork('net1'), StateError, 'subnets of network "net1" hold an invalid entry: {"subnet":"10.68.0.5/24","gateway":"10.68.0.1"}');
    assertError(() => store.getEndpointById('ep-id-1'), StateError, 'addresses of endpoint "ep-id-1" hold an invalid address: invalid interface address "10.68.0.2": missing prefix length');
  });

  it('makes the database 0600', (t) => {
    const { dir } = openStore(t);
    assert.equal(statSync(join(dir, STATE_DB_FILE)).mode & 0o777, 0o600);
  });

  it('reports a directory that cannot be created', (t) => {
    const file = join(tempDir(t), 'not-a-dir');
    writeFileSync(file, '');
    assert.throws(
      () => StateStore.open(file),
      (err: unknown) => {
        assert.ok(err instanceof StateError);
        assert.match(err.message, /^open state database ".*not-a-dir\/ctnet\.db": /);
        assert.ok(err.cause instanceof Error);
        return true;
      },
    );
  });
});

describe('StateStore concurrency', () => {
  const WORKERS = 8;
  const PER_WORKER = 25;

  // Each worker allocates by "read the allocations, take the lowest free one, insert". Without
  // BEGIN IMMEDIATE two workers would read the same snapshot and collide (or fail with
  // SQLITE_BUSY_SNAPSHOT on the upgrade to a write lock); with it they take turns.
  const worker = `
    import { StateStore } from ${JSON.stringify(new URL('./store.js', import.meta.url).href)};
    import { parseIpWithPrefix } from ${JSON.stringify(new URL('../inet/cidr.js', import.meta.url).href)};
    const { CTNET_DIR: dir, CTNET_NET: networkId, CTNET_WORKER: me, CTNET_COUNT: count } = process.env;
    const store = StateStore.open(dir);
    process.stdout.write('ready\\n');
    // start together with the other workers, so their transactions really overlap
    await new Promise((resolve) => process.stdin.once('data', resolve));
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < Number(count); i++) {
      store.transaction(() => {
        const used = store.allocatedAddresses(networkId);
        let n = 1;
        while (used.has('10.68.' + Math.floor(n / 256) + '.' + (n % 256))) n++;
        // hold the gap between read and write open a little, to give a race every chance
        Atomics.wait(pause, 0, 0, 1);
        store.insertEndpoint({
          id: 'ep-' + me + '-' + i, networkId, container: 'c-' + me + '-' + i, netns: '/run/netns/x', netnsId: '',
          ifname: 'eth0', hostIfname: 'veth' + me + '-' + i, mac: '02:00:00:00:00:00',
          addresses: ['10.68.' + Math.floor(n / 256) + '.' + (n % 256) + '/16'].map(parseIpWithPrefix), ports: [], owner: 'cli',
          status: 'ready', created: new Date().toISOString(),
        });
      });
    }
    store.close();
  `;

  interface Outcome {
    code: number | null;
    stderr: string;
  }

  it(`serializes ${WORKERS} processes writing at once`, { timeout: 120_000 }, async (t) => {
    const dir = tempDir(t);
    const setup = StateStore.open(dir);
    setup.insertNetwork(network({ subnets: [{ subnet: parseCidr('10.68.0.0/16'), gateway: parseIp('10.68.0.0') }] }));
    setup.close();

    const ready: Promise<void>[] = [];
    const done: Promise<Outcome>[] = [];
    const children = Array.from({ length: WORKERS }, (_, i) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', worker], {
        env: {
          ...process.env,
          CTNET_DIR: dir,
          CTNET_NET: 'net-id-1',
          CTNET_WORKER: String(i),
          CTNET_COUNT: String(PER_WORKER),
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      ready.push(
        new Promise((resolve, reject) => {
          child.stdout.setEncoding('utf8').once('data', () => { resolve(); });
          child.once('exit', () => { reject(new Error(`worker ${i} exited before it was ready: ${stderr}`)); });
        }),
      );
      done.push(new Promise((resolve) => child.once('close', (code) => { resolve({ code, stderr }); })));
      return child;
    });
    t.after(() => {
      for (const child of children) if (child.exitCode === null) child.kill();
    });

    await Promise.all(ready);
    for (const child of children) child.stdin.end('go\n');
    const outcomes = await Promise.all(done);
    outcomes.forEach((o, i) => { assert.equal(o.code, 0, `worker ${i} failed: ${o.stderr}`); });

    const store = StateStore.open(dir);
    try {
      const total = WORKERS * PER_WORKER;
      const addresses = store.allocatedAddresses('net-id-1');
      assert.equal(store.countEndpoints('net-id-1'), total);
      assert.equal(addresses.size, total);
      // every worker took the lowest free address, so together they filled 1..200 without a gap
      const expected = new Set(
        Array.from({ length: total }, (_, k) => `10.68.${Math.floor((k + 1) / 256)}.${(k + 1) % 256}`),
      );
      assert.deepEqual(addresses, expected);
      const fromRecords = store.listEndpoints({ networkId: 'net-id-1' }).flatMap((e) => e.addresses);
      assert.equal(new Set(fromRecords).size, total);
    } finally {
      store.close();
    }
  });
});

describe('StateStore published ports', () => {
  const port = (hostPort: number, over: Partial<PortRecord> = {}): PortRecord => ({ family: 4, protocol: 'tcp', hostIp: null, hostPort, containerPort: 80, ...over });
  const range = (first: number, last: number, over: Partial<PortRecord> = {}): PortRecord[] =>
    Array.from({ length: last - first + 1 }, (_, i) => port(first + i, { containerPort: first + i, ...over }));
  const web = (ports: PortRecord[]): EndpointRecord => endpoint({ id: 'ep-web', container: 'web', netns: '/run/netns/web', addresses: [], ports });
  const db = (ports: PortRecord[]): EndpointRecord => endpoint({ id: 'ep-db', container: 'db', netns: '/run/netns/db', addresses: [], ports });

  function storeWith(t: TestContext, ports: PortRecord[]): StateStore {
    const { store } = openStore(t);
    store.insertNetwork(network());
    store.insertEndpoint(web(ports));
    return store;
  }

  /** The query plan's steps on published_ports (`p`) for a lookup of `hostIp` ('' is every address). */
  function portSearches(dir: string, hostIp: string): string[] {
    const conn = new Database(join(dir, STATE_DB_FILE), { readonly: true });
    try {
      const plan = conn.prepare<[object], { detail: string }>(`EXPLAIN QUERY PLAN ${PORT_HOLDER_SQL}`).all({ family: 4, protocol: 'tcp', hostIp, hostPort: 1, hostPortEnd: 65535 });
      return plan.map((row) => row.detail).filter((d) => / p\b/.test(d));
    } finally {
      conn.close();
    }
  }

  it('looks ports up by a key range that ends in the port, never by scanning a protocol', (t) => {
    const { dir } = openStore(t);
    // One address: the primary key with every column, for that address and for '' (every address).
    assert.deepEqual(portSearches(dir, '127.0.0.1'), [
      'SEARCH p USING PRIMARY KEY (family=? AND protocol=? AND host_ip=? AND host_port>? AND host_port<?)',
      'SEARCH p USING INDEX published_ports_port (family=? AND protocol=? AND host_port>? AND host_port<?)',
    ]);
    // Every address: that port on any address, through the (family, protocol, host_port) index.
    assert.deepEqual(portSearches(dir, ''), portSearches(dir, '127.0.0.1'));
  });

  it('gives a database from before the port index that index', (t) => {
    const dir = tempDir(t);
    StateStore.open(dir).close();
    const conn = new Database(join(dir, STATE_DB_FILE));
    conn.exec('DROP INDEX published_ports_port');
    conn.pragma(`user_version = ${STATE_SCHEMA_VERSION - 1}`);
    conn.close();
    StateStore.open(dir).close();
    const after = new Database(join(dir, STATE_DB_FILE), { readonly: true });
    try {
      assert.equal(after.pragma('user_version', { simple: true }), STATE_SCHEMA_VERSION);
      const index = after.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'published_ports_port'").get();
      assert.deepEqual(index, { name: 'published_ports_port' });
    } finally {
      after.close();
    }
  });

  it('refuses a port on one address where every address is published, and the other way round', (t) => {
    const store = storeWith(t, [port(8080), port(8081, { hostIp: parseIp('127.0.0.1') })]);
    assertError(() => { store.insertEndpoint(db([port(8080, { hostIp: parseIp('127.0.0.1') })])); }, ConflictError, 'port 8080/tcp on 127.0.0.1 is already published by container "web"');
    assertError(() => { store.insertEndpoint(db([port(8081)])); }, ConflictError, 'port 8081/tcp on 0.0.0.0 is already published by container "web"');
    assertError(() => { store.insertEndpoint(db([port(8080)])); }, ConflictError, 'port 8080/tcp on 0.0.0.0 is already published by container "web"');
    assertError(() => { store.insertEndpoint(db([port(8081, { hostIp: parseIp('127.0.0.1') })])); }, ConflictError, 'port 8081/tcp on 127.0.0.1 is already published by container "web"');
    assert.equal(store.portHolder(port(8080, { hostIp: parseIp('198.51.100.2') })), 'web');
    assert.equal(store.portHolder(port(8081)), 'web');
    // Nothing of a refused endpoint stays.
    assert.equal(store.getEndpointById('ep-db'), undefined);
  });

  it('lets another address, family or protocol publish the same port number', (t) => {
    const store = storeWith(t, [port(8080, { hostIp: parseIp('127.0.0.1') }), port(8081)]);
    const others = [
      port(8080, { hostIp: parseIp('127.0.0.2') }),
      port(8080, { family: 6 }),
      port(8081, { family: 6, hostIp: parseIp('fd00::1') }),
      port(8080, { protocol: 'udp' }),
      port(8081, { protocol: 'udp', hostIp: parseIp('127.0.0.1') }),
    ];
    store.insertEndpoint(db(others));
    assert.deepEqual(store.getEndpointById('ep-db')?.ports, others);
    assert.equal(store.portHolder(port(8082)), undefined);
    assert.equal(store.portHolder(port(8080, { hostIp: parseIp('127.0.0.3') })), undefined);
    assert.equal(store.portHolder(port(8080, { family: 6, hostIp: parseIp('fd00::2') })), 'db');
  });

  it('publishes every port of both families in one endpoint and names the one taken port of a range', (t) => {
    const all = [...range(1, 65535), ...range(1, 65535, { family: 6 })];
    const store = storeWith(t, all);
    assert.equal(store.getEndpointById('ep-web')?.ports.length, 2 * 65535);
    // Wherever the taken ports lie in a range, the range names one and publishes none of it.
    for (const [first, last] of [[1, 3], [65530, 65535], [100, 200]] as const) {
      assert.throws(() => { store.insertEndpoint(db(range(first, last, { hostIp: parseIp('127.0.0.1') }))); }, (err: unknown) => {
        assert.ok(err instanceof ConflictError, String(err));
        const named = /^port (\d+)\/tcp on 127\.0\.0\.1 is already published by container "web"$/.exec(err.message);
        assert.ok(named !== null && Number(named[1]) >= first && Number(named[1]) <= last, err.message);
        return true;
      });
    }
    assert.equal(store.getEndpointById('ep-db'), undefined);
    store.insertEndpoint(db(range(1, 65535, { protocol: 'udp', hostIp: parseIp('127.0.0.1') })));
    // Deleting an endpoint frees its ports.
    assert.equal(store.deleteEndpoint('ep-web'), true);
    assert.equal(store.portHolder(port(65535, { family: 6 })), undefined);
    assert.equal(store.portHolder(port(65535, { protocol: 'udp' })), 'db');
  });

  it('checks ports that come out of order, as CNI portMappings may', (t) => {
    const store = storeWith(t, [port(9000)]);
    assertError(() => { store.insertEndpoint(db([port(9002), port(8999), port(9000, { hostIp: parseIp('127.0.0.1') })])); }, ConflictError, 'port 9000/tcp on 127.0.0.1 is already published by container "web"');
    store.insertEndpoint(db([port(9002), port(8999), port(9001)]));
    assert.equal(store.portHolder(port(8999)), 'db');
  });
});
