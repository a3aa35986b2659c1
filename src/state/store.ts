/**
 * The embedded SQLite store: networks, endpoints and address allocations that ctnet created and owns.
 *
 * Every ctnet process opens the same database file. Writers serialize through `BEGIN IMMEDIATE`
 * plus a long busy timeout, so "read the allocations, pick a free address, insert" done inside
 * {@link StateStore.transaction} cannot hand one address to two processes.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ConflictError, errorMessage, NotFoundError, StateError, TimeoutError } from '../errors.js';
import { type Cidr, formatCidr } from '../inet/cidr.js';
import { formatIp, type IpAddress, ipEquals, parseIp } from '../inet/ip.js';
import { formatPortHost } from '../inet/port.js';
import type { EndpointOwner, EndpointRecord, NetworkRecord, PortRecord, RecordStatus } from './records.js';
import { endpointRow, networkRow, toEndpoint, toNetwork, type EndpointRow, type NetworkRow } from './rows.js';
import { migrate } from './schema.js';
import { assertAbsoluteStateDir, assertPrivateDir, ensurePrivateFile } from './trust.js';

/**
 * The path of better-sqlite3's compiled addon. Handing it over skips the package's own search,
 * which tries a dozen paths on every start: a few ms of each CLI and CNI invocation.
 */
function nativeBindingPath(): string {
  const pkg = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
  return join(dirname(pkg), 'build', 'Release', 'better_sqlite3.node');
}

/**
 * Run `fn` again while SQLite answers SQLITE_BUSY, up to the busy timeout. Two processes creating
 * one new database can meet in the switch to WAL, where SQLite refuses one of them at once instead
 * of waiting (it would otherwise deadlock), so the busy timeout alone does not cover it.
 */
function retryWhileBusy(fn: () => void, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      fn();
      return;
    } catch (err) {
      if (!(sqliteCode(err) ?? '').startsWith('SQLITE_BUSY') || Date.now() > deadline) throw err;
      // open() is synchronous, so wait without an event loop turn.
      Atomics.wait(pause, 0, 0, delay);
    }
  }
}

/** File name of the database inside the state directory. */
export const STATE_DB_FILE = 'ctnet.db';

/** How long a process waits for another one's write transaction before giving up, by default, in ms. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/** Options of {@link StateStore.open}. */
export interface StateStoreOptions {
  /** How long to wait for another process's write transaction; default 30 s. */
  busyTimeoutMs?: number;
}

/** Filter for {@link StateStore.listEndpoints}; every field given must match. */
export interface EndpointFilter {
  networkId?: string;
  owner?: EndpointOwner;
  container?: string;
  netns?: string;
  netnsId?: string;
}

interface EndpointQuery {
  networkId: string | null;
  owner: string | null;
  container: string | null;
  netns: string | null;
  netnsId: string | null;
}

type Db = Database.Database;

const ENDPOINT_COLUMNS =
  'e.id, e.network_id, e.container, e.netns, e.netns_id, e.ifname, e.host_ifname, e.mac, e.addresses, e.ports, e.owner, e.status, e.created';

/**
 * Consecutive host ports of one family, protocol and host address, as `published_ports` keys them:
 * `hostIp` '' is every local address of the family, any other the address as text.
 */
interface PortRun {
  family: PortRecord['family'];
  protocol: PortRecord['protocol'];
  hostIp: string;
  hostPort: number;
  hostPortEnd: number;
}

/**
 * A published port, with its container, that collides with a port of {@link PortRun}: a port on
 * every address collides with the same port on any one address, and the other way round.
 * Each branch searches a key range that ends in the host port (the primary key for the address
 * itself and for '', the published_ports_port index for a request on every address), so it visits
 * only colliding rows: publishing N ports costs the same however many other ports are published.
 * Without INDEXED BY, SQLite (which has no ANALYZE statistics here) scans the primary key's
 * (family, protocol) prefix instead, every port of the protocol, because the index lacks
 * endpoint_id. Exported for the test of the query plan.
 */
export const PORT_HOLDER_SQL = `
  SELECT p.host_port AS hostPort, e.container FROM published_ports p JOIN endpoints e ON e.id = p.endpoint_id
   WHERE p.family = @family AND p.protocol = @protocol AND p.host_ip IN (@hostIp, '')
     AND p.host_port BETWEEN @hostPort AND @hostPortEnd
  UNION ALL
  SELECT p.host_port, e.container FROM published_ports p INDEXED BY published_ports_port JOIN endpoints e ON e.id = p.endpoint_id
   WHERE @hostIp = '' AND p.family = @family AND p.protocol = @protocol
     AND p.host_port BETWEEN @hostPort AND @hostPortEnd
  LIMIT 1`;

function prepareStatements(db: Db) {
  return {
    insertNetwork: db.prepare<[NetworkRow]>(
      `INSERT INTO networks (id, name, driver, bridge, mtu, nat, internal, subnets, status, created)
       VALUES (@id, @name, @driver, @bridge, @mtu, @nat, @internal, @subnets, @status, @created)`,
    ),
    networkByName: db.prepare<[string], NetworkRow>('SELECT * FROM networks WHERE name = ?'),
    networkById: db.prepare<[string], NetworkRow>('SELECT * FROM networks WHERE id = ?'),
    networkByBridge: db.prepare<[string], NetworkRow>('SELECT * FROM networks WHERE bridge = ?'),
    listNetworks: db.prepare<[], NetworkRow>('SELECT * FROM networks ORDER BY name'),
    deleteNetwork: db.prepare<[string]>('DELETE FROM networks WHERE id = ?'),
    setNetworkStatus: db.prepare<[string, string]>('UPDATE networks SET status = ? WHERE id = ?'),

    insertEndpoint: db.prepare<[EndpointRow]>(
      `INSERT INTO endpoints (id, network_id, container, netns, netns_id, ifname, host_ifname, mac, addresses, ports, owner, status, created)
       VALUES (@id, @network_id, @container, @netns, @netns_id, @ifname, @host_ifname, @mac, @addresses, @ports, @owner, @status, @created)`,
    ),
    // One statement per run of ports: SQLite counts the ports itself, instead of one call per port.
    insertPorts: db.prepare<[PortRun & { endpointId: string }]>(
      `WITH RECURSIVE run (port) AS (SELECT @hostPort UNION ALL SELECT port + 1 FROM run WHERE port < @hostPortEnd)
       INSERT INTO published_ports (family, protocol, host_ip, host_port, endpoint_id)
       SELECT @family, @protocol, @hostIp, port, @endpointId FROM run`,
    ),
    portHolder: db.prepare<[PortRun], { hostPort: number; container: string }>(PORT_HOLDER_SQL),
    insertAllocation: db.prepare<[string, string, string]>(
      'INSERT INTO allocations (network_id, address, endpoint_id) VALUES (?, ?, ?)',
    ),
    endpointByContainer: db.prepare<[{ networkId: string; owner: string; container: string; ifname: string | null }], EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM endpoints e WHERE e.network_id = @networkId AND e.owner = @owner
         AND e.container = @container AND (@ifname IS NULL OR e.ifname = @ifname) ORDER BY e.rowid LIMIT 1`,
    ),
    endpointById: db.prepare<[string], EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM endpoints e WHERE e.id = ?`),
    // One statement for every filter shape: a NULL parameter switches its condition off. rowid breaks
    // ties between endpoints created in the same millisecond, so the order is insertion order.
    listEndpoints: db.prepare<[EndpointQuery], EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM endpoints e JOIN networks n ON n.id = e.network_id
       WHERE (@networkId IS NULL OR e.network_id = @networkId)
         AND (@owner IS NULL OR e.owner = @owner)
         AND (@container IS NULL OR e.container = @container)
         AND (@netns IS NULL OR e.netns = @netns)
         AND (@netnsId IS NULL OR e.netns_id = @netnsId)
       ORDER BY n.name, e.created, e.rowid`,
    ),
    deleteEndpoint: db.prepare<[string]>('DELETE FROM endpoints WHERE id = ?'),
    setEndpointStatus: db.prepare<[string, string]>('UPDATE endpoints SET status = ? WHERE id = ?'),
    countEndpoints: db.prepare<[string], number>('SELECT count(*) FROM endpoints WHERE network_id = ?').pluck(),

    allocatedAddresses: db
      .prepare<[string], string>('SELECT address FROM allocations WHERE network_id = ?')
      .pluck(),
    isAllocated: db
      .prepare<[string, string], number>('SELECT 1 FROM allocations WHERE network_id = ? AND address = ?')
      .pluck(),
    lastAllocated: db
      .prepare<[string, string], string>('SELECT last FROM ipam_cursor WHERE network_id = ? AND subnet = ?')
      .pluck(),
    setLastAllocated: db.prepare<[string, string, string]>(
      `INSERT INTO ipam_cursor (network_id, subnet, last) VALUES (?, ?, ?)
       ON CONFLICT (network_id, subnet) DO UPDATE SET last = excluded.last`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The state database of one state directory.
 *
 * Methods are synchronous: better-sqlite3 runs each statement to completion, and a synchronous
 * transaction cannot be interleaved with other work of the same process.
 * @example
 * const store = StateStore.open('/var/lib/ctnet');
 * try {
 *   store.transaction(() => {
 *     if (!store.isAllocated(net.id, ip)) store.insertEndpoint({ ...endpoint, addresses: [ipWithPrefix(ip, 24)] });
 *   });
 * } finally {
 *   store.close();
 * }
 */
export class StateStore {
  readonly #db: Db;
  readonly #stmt: Statements;
  readonly #insertEndpointTx: Database.Transaction<(rec: EndpointRecord) => void>;
  readonly #insertNetworkTx: Database.Transaction<(rec: NetworkRecord) => void>;
  readonly #deleteNetworkTx: Database.Transaction<(id: string) => boolean>;

  readonly #path: string;
  readonly #busyTimeoutMs: number;

  private constructor(db: Db, path: string, busyTimeoutMs: number) {
    this.#db = db;
    this.#path = path;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#stmt = prepareStatements(db);
    // Multi-statement writes run as their own transaction; called inside a caller's transaction
    // better-sqlite3 turns them into a savepoint, so a conflict on the second address does not
    // leave the endpoint row behind when the caller catches the error and carries on.
    this.#insertEndpointTx = db.transaction((rec: EndpointRecord) => { this.#insertEndpointRows(rec); });
    this.#insertNetworkTx = db.transaction((rec: NetworkRecord) => { this.#insertNetworkRow(rec); });
    this.#deleteNetworkTx = db.transaction((id: string) => this.#deleteNetworkRow(id));
  }

  /**
   * Open (and create or migrate) the database `dir/ctnet.db`, creating `dir` with mode 0700 and
   * the database with mode 0600. Both must be owned by the user ctnet runs as and writable by
   * nobody else.
   * @throws {InvalidConfigError} when `dir` is not absolute
   * @throws {StateError} `open state database "<path>": <reason>`
   * @example
   * const store = StateStore.open('/run/ctnet');
   */
  static open(dir: string, options: StateStoreOptions = {}): StateStore {
    assertAbsoluteStateDir(dir);
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const path = join(dir, STATE_DB_FILE);
    let db: Db | undefined;
    try {
      // 0700: the database names every container's namespace and addresses
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      assertPrivateDir(dir);
      ensurePrivateFile(path);
      db = new Database(path, { timeout: busyTimeoutMs, nativeBinding: nativeBindingPath() });
      // busy_timeout first, so the pragmas and migrations below wait for a process that is
      // creating or migrating the same file instead of failing with SQLITE_BUSY
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      const opened = db;
      retryWhileBusy(() => {
        // WAL lets readers run while one process writes; NORMAL is durable across a process crash,
        // which is what matters here (a power loss also loses every namespace the rows describe)
        opened.pragma('journal_mode = WAL');
        opened.pragma('synchronous = NORMAL');
        migrate(opened);
        // SQLite enforces foreign keys only when asked, per connection; the cascades depend on it
        opened.pragma('foreign_keys = ON');
      }, busyTimeoutMs);
      return new StateStore(db, path, busyTimeoutMs);
    } catch (err) {
      db?.close();
      throw new StateError(`open state database "${path}": ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The state directory the database is in. */
  get dir(): string {
    return dirname(this.#path);
  }

  /** True when the database holds no network at all: new, emptied, or replaced. */
  isEmpty(): boolean {
    return this.#guard('count networks', () => this.#stmt.listNetworks.get() === undefined);
  }

  /** Close the database. The store must not be used afterwards. */
  close(): void {
    this.#db.close();
  }

  /**
   * Run `fn` in one write transaction (`BEGIN IMMEDIATE`): the write lock is taken up front, so
   * concurrent ctnet processes run their transactions one after the other, waiting up to 30 s.
   * `fn` must be synchronous. If it throws, everything it wrote is rolled back. Calls made while a
   * transaction is already open just run `fn` as part of the outer one.
   * @throws {StateError} when the database fails (for example the lock wait times out)
   * @example
   * store.transaction(() => {
   *   if (store.getNetwork('net1') === undefined) store.insertNetwork(rec);
   * });
   */
  transaction<T>(fn: () => T): T {
    if (this.#db.inTransaction) return fn();
    return this.#guard('transaction', () => this.#db.transaction(fn).immediate());
  }

  // ---- networks ----

  /**
   * Insert a network.
   * @throws {ConflictError} `network "x" already exists`, or its bridge is used by another network
   */
  insertNetwork(rec: NetworkRecord): void {
    this.#guard(`insert network "${rec.name}"`, () => { this.#insertNetworkTx.immediate(rec); });
  }

  /** The network called `name`, or `undefined`. */
  getNetwork(name: string): NetworkRecord | undefined {
    return this.#guard('read network', () => {
      const row = this.#stmt.networkByName.get(name);
      return row === undefined ? undefined : toNetwork(row);
    });
  }

  /** The network with this id, or `undefined`. */
  getNetworkById(id: string): NetworkRecord | undefined {
    return this.#guard('read network', () => {
      const row = this.#stmt.networkById.get(id);
      return row === undefined ? undefined : toNetwork(row);
    });
  }

  /** Record how far a network is made. */
  setNetworkStatus(id: string, status: RecordStatus): void {
    this.#guard('write network status', () => this.#stmt.setNetworkStatus.run(status, id));
  }

  /** All networks, ordered by name. */
  listNetworks(): NetworkRecord[] {
    return this.#guard('list networks', () => this.#stmt.listNetworks.all().map(toNetwork));
  }

  /**
   * Delete a network and its IPAM cursors. Returns false when there was no such network, so that
   * teardown can be repeated.
   * @throws {ConflictError} `network "x" still has 2 endpoints`
   */
  deleteNetwork(id: string): boolean {
    return this.#guard('delete network', () => this.#deleteNetworkTx.immediate(id));
  }

  // ---- endpoints ----

  /**
   * Insert an endpoint and allocate its addresses (stored without prefix) in its network, all or
   * nothing.
   * @throws {ConflictError} `container "c" is already connected to network "n"`, or
   *   `address "10.68.0.7" is already in use in network "n"`
   * @throws {NotFoundError} when the network does not exist
   */
  insertEndpoint(rec: EndpointRecord): void {
    this.#guard(`insert endpoint "${rec.id}"`, () => { this.#insertEndpointTx.immediate(rec); });
  }

  /**
   * The (first) endpoint that `owner` made for `container` in a network, or the one with `ifname`;
   * `undefined` if none.
   */
  getEndpoint(networkId: string, key: { owner: EndpointOwner; container: string; ifname?: string }): EndpointRecord | undefined {
    return this.#guard('read endpoint', () => {
      const row = this.#stmt.endpointByContainer.get({ networkId, owner: key.owner, container: key.container, ifname: key.ifname ?? null });
      return row === undefined ? undefined : toEndpoint(row);
    });
  }

  /** Record how far an endpoint is made. */
  setEndpointStatus(id: string, status: RecordStatus): void {
    this.#guard('write endpoint status', () => this.#stmt.setEndpointStatus.run(status, id));
  }

  /** The endpoint with this id, or `undefined`. */
  getEndpointById(id: string): EndpointRecord | undefined {
    return this.#guard('read endpoint', () => {
      const row = this.#stmt.endpointById.get(id);
      return row === undefined ? undefined : toEndpoint(row);
    });
  }

  /**
   * Endpoints matching every given field of `filter`, ordered by network name, then creation.
   * @example
   * store.listEndpoints({ netns: '/run/netns/web' });
   */
  listEndpoints(filter: EndpointFilter = {}): EndpointRecord[] {
    return this.#guard('list endpoints', () =>
      this.#stmt.listEndpoints
        .all({
          networkId: filter.networkId ?? null,
          owner: filter.owner ?? null,
          container: filter.container ?? null,
          netns: filter.netns ?? null,
          netnsId: filter.netnsId ?? null,
        })
        .map(toEndpoint),
    );
  }

  /**
   * Delete an endpoint; its address allocations go with it. Returns false when there was no such
   * endpoint, so that teardown can be repeated.
   */
  deleteEndpoint(id: string): boolean {
    return this.#guard('delete endpoint', () => this.#stmt.deleteEndpoint.run(id).changes > 0);
  }

  /** Number of endpoints in a network. */
  countEndpoints(networkId: string): number {
    return this.#guard('count endpoints', () => this.#stmt.countEndpoints.get(networkId) ?? 0);
  }

  // ---- IPAM ----

  /** Every address allocated in a network, as text. */
  allocatedAddresses(networkId: string): Set<string> {
    return this.#guard('read allocations', () => new Set(this.#stmt.allocatedAddresses.all(networkId)));
  }

  /**
   * Whether `ip` is allocated in a network: one index lookup, so an allocation costs the same with
   * 10 or 1000 endpoints on the network.
   */
  isAllocated(networkId: string, ip: IpAddress): boolean {
    return this.#guard('read allocations', () => this.#stmt.isAllocated.get(networkId, formatIp(ip)) !== undefined);
  }

  /**
   * The address last handed out in `subnet` of a network, or `undefined`.
   * @throws {StateError} when the database holds something else than an address there
   */
  lastAllocated(networkId: string, subnet: Cidr): IpAddress | undefined {
    const text = this.#guard('read IPAM cursor', () => this.#stmt.lastAllocated.get(networkId, formatCidr(subnet)));
    if (text === undefined) return undefined;
    try {
      return parseIp(text);
    } catch (err) {
      throw new StateError(`IPAM cursor of subnet ${formatCidr(subnet)} holds an invalid address: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * Remember the address last handed out in `subnet`, where the next search starts.
   * @throws {NotFoundError} when the network does not exist
   */
  setLastAllocated(networkId: string, subnet: Cidr, ip: IpAddress): void {
    this.#guard('write IPAM cursor', () => {
      try {
        this.#stmt.setLastAllocated.run(networkId, formatCidr(subnet), formatIp(ip));
      } catch (err) {
        if (sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw networkNotFound(networkId, err);
        throw err;
      }
    });
  }

  // ---- internals ----

  #insertNetworkRow(rec: NetworkRecord): void {
    try {
      this.#stmt.insertNetwork.run(networkRow(rec));
    } catch (err) {
      const code = sqliteCode(err);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new ConflictError(`network id "${rec.id}" already exists`, { cause: err });
      }
      if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
        // Two UNIQUE columns share this code; look which one collided rather than parse the message.
        if (this.#stmt.networkByName.get(rec.name) === undefined && rec.bridge !== null) {
          const other = this.#stmt.networkByBridge.get(rec.bridge);
          if (other !== undefined) {
            throw new ConflictError(`bridge "${rec.bridge}" is already used by network "${other.name}"`, {
              cause: err,
            });
          }
        }
        throw new ConflictError(`network "${rec.name}" already exists`, { cause: err });
      }
      throw err;
    }
  }

  #deleteNetworkRow(id: string): boolean {
    // Counted first rather than read from the RESTRICT failure: SQLite reports that one as
    // SQLITE_CONSTRAINT_TRIGGER, a code too vague to tell apart from other failures. The constraint
    // stays as the backstop.
    const n = this.#stmt.countEndpoints.get(id) ?? 0;
    if (n > 0) {
      throw new ConflictError(`network "${this.#networkName(id)}" still has ${n} endpoint${n === 1 ? '' : 's'}`);
    }
    return this.#stmt.deleteNetwork.run(id).changes > 0;
  }

  #insertEndpointRows(rec: EndpointRecord): void {
    try {
      this.#stmt.insertEndpoint.run(endpointRow(rec));
    } catch (err) {
      switch (sqliteCode(err)) {
        case 'SQLITE_CONSTRAINT_PRIMARYKEY':
          throw new ConflictError(`endpoint "${rec.id}" already exists`, { cause: err });
        case 'SQLITE_CONSTRAINT_UNIQUE':
          throw new ConflictError(
            `container "${rec.container}" is already connected to network "${this.#networkName(rec.networkId)}" with interface "${rec.ifname}"`,
            { cause: err },
          );
        case 'SQLITE_CONSTRAINT_FOREIGNKEY':
          throw networkNotFound(rec.networkId, err);
        default:
          throw err;
      }
    }
    for (const a of rec.addresses) {
      // Allocations are per address, whatever prefix the interface has.
      const address = formatIp(a.ip);
      try {
        this.#stmt.insertAllocation.run(rec.networkId, address, rec.id);
      } catch (err) {
        if (sqliteCode(err) !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
        throw new ConflictError(
          `address "${address}" is already in use in network "${this.#networkName(rec.networkId)}"`,
          { cause: err },
        );
      }
    }
    for (const run of portRuns(rec.ports)) {
      const holder = this.#stmt.portHolder.get(run);
      if (holder !== undefined) {
        const where = portText(run.family, run.protocol, run.hostIp === '' ? null : run.hostIp, holder.hostPort);
        throw new ConflictError(`port ${where} is already published by container "${holder.container}"`);
      }
      this.#stmt.insertPorts.run({ ...run, endpointId: rec.id });
    }
  }

  /**
   * The container already publishing host port `port` (on its address or on every address), if any.
   * @example
   * store.portHolder({ family: 4, protocol: 'tcp', hostIp: null, hostPort: 8080 }); // 'web' or undefined
   */
  portHolder(port: Pick<PortRecord, 'family' | 'protocol' | 'hostIp' | 'hostPort'>): string | undefined {
    return this.#guard('read published ports', () => {
      const run = { family: port.family, protocol: port.protocol, hostIp: port.hostIp === null ? '' : formatIp(port.hostIp), hostPort: port.hostPort, hostPortEnd: port.hostPort };
      return this.#stmt.portHolder.get(run)?.container;
    });
  }

  /** The network's name for messages; its id when the row is gone. */
  #networkName(id: string): string {
    return this.#stmt.networkById.get(id)?.name ?? id;
  }

  /**
   * Run `fn`, turning SQLite failures into StateError with `context`. ctnet's own errors (the
   * conflicts above) and programming errors pass through unchanged.
   */
  #guard<T>(context: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof Database.SqliteError) {
        // Another process held the write lock for the whole busy timeout: nothing was written.
        if (err.code.startsWith('SQLITE_BUSY')) throw busyError(this.#path, context, this.#busyTimeoutMs, err);
        throw new StateError(`${context}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
}

function busyError(path: string, context: string, waitedMs: number, cause: unknown): TimeoutError {
  return new TimeoutError(
    `${context}: state database ${path} is locked by another process (waited ${waitedMs} ms); try again later`,
    { cause },
  );
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

function networkNotFound(id: string, cause: unknown): NotFoundError {
  return new NotFoundError(`network with id "${id}" not found`, { cause });
}

/**
 * The ports as runs of consecutive host ports of one family, protocol and address, in order: an
 * expanded range (or a CNI request listing every port) gives one run, and one address text.
 */
function portRuns(ports: readonly PortRecord[]): PortRun[] {
  const runs: PortRun[] = [];
  let last: PortRun | undefined;
  let lastIp: IpAddress | null = null;
  for (const p of ports) {
    const sameIp = p.hostIp === null ? lastIp === null : lastIp !== null && ipEquals(lastIp, p.hostIp);
    if (last !== undefined && last.family === p.family && last.protocol === p.protocol && sameIp && last.hostPortEnd + 1 === p.hostPort) {
      last.hostPortEnd = p.hostPort;
    } else {
      last = { family: p.family, protocol: p.protocol, hostIp: p.hostIp === null ? '' : formatIp(p.hostIp), hostPort: p.hostPort, hostPortEnd: p.hostPort };
      lastIp = p.hostIp;
      runs.push(last);
    }
  }
  return runs;
}

/** `8080/tcp on 0.0.0.0`, `8080/tcp on [fd00::1]` */
export function describePort(p: Pick<PortRecord, 'family' | 'protocol' | 'hostIp' | 'hostPort'>): string {
  return portText(p.family, p.protocol, p.hostIp === null ? null : formatIp(p.hostIp), p.hostPort);
}

function portText(family: 4 | 6, protocol: 'tcp' | 'udp', hostIp: string | null, hostPort: number): string {
  return `${hostPort}/${protocol} on ${formatPortHost(family, hostIp)}`;
}
