/**
 * The schema of the state database and its migrations: each step runs once per database, in
 * order, and `PRAGMA user_version` records how far a database has come.
 * @module
 */
import type Database from 'better-sqlite3';
import { StateError } from '../errors.js';

/**
 * Schema steps. Step `i` moves `PRAGMA user_version` from `i` to `i + 1`. Append only: a step that
 * has been released must never change, because databases in the field have already run it.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE networks (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    driver   TEXT NOT NULL CHECK (driver IN ('bridge', 'ptp')),
    -- two networks on one Linux bridge would tear it down under each other
    bridge   TEXT UNIQUE,
    mtu      INTEGER NOT NULL,
    nat      INTEGER NOT NULL CHECK (nat IN (0, 1)),
    internal INTEGER NOT NULL CHECK (internal IN (0, 1)),
    subnets  TEXT NOT NULL,  -- JSON array of {subnet, gateway}
    created  TEXT NOT NULL
  ) STRICT;

  CREATE TABLE endpoints (
    id          TEXT PRIMARY KEY,
    -- RESTRICT: dropping endpoint rows with their network would forget kernel objects that ctnet
    -- still owns, and gc could no longer find them
    network_id  TEXT NOT NULL REFERENCES networks (id) ON DELETE RESTRICT,
    container   TEXT NOT NULL,
    netns       TEXT NOT NULL,
    ifname      TEXT NOT NULL,
    host_ifname TEXT NOT NULL,
    mac         TEXT NOT NULL,
    addresses   TEXT NOT NULL,  -- JSON array of "address/prefix"
    ports       TEXT NOT NULL,  -- JSON array of PortRecord
    owner       TEXT NOT NULL CHECK (owner IN ('cli', 'cni')),
    created     TEXT NOT NULL,
    -- a runtime may attach one container to a network more than once, each time with another
    -- interface (CNI); the CLI allows one attachment per container and checks that itself
    UNIQUE (network_id, container, ifname)
  ) STRICT;
  CREATE INDEX endpoints_container ON endpoints (container);
  CREATE INDEX endpoints_netns ON endpoints (netns);

  -- One row per address in use; the primary key is what makes an address taken.
  CREATE TABLE allocations (
    network_id  TEXT NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    address     TEXT NOT NULL,  -- without prefix
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (network_id, address)
  ) STRICT, WITHOUT ROWID;
  -- the cascade from endpoints looks rows up by endpoint_id
  CREATE INDEX allocations_endpoint ON allocations (endpoint_id);

  -- One row per published host port; the primary key makes a port taken. host_ip '' is every
  -- local address of the family, which also collides with each specific address (checked in code).
  CREATE TABLE published_ports (
    family      INTEGER NOT NULL CHECK (family IN (4, 6)),
    protocol    TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    host_ip     TEXT NOT NULL,
    host_port   INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (family, protocol, host_ip, host_port)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX published_ports_endpoint ON published_ports (endpoint_id);

  -- Where the next address search starts, per subnet, so freed addresses are not reused at once.
  CREATE TABLE ipam_cursor (
    network_id TEXT NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    subnet     TEXT NOT NULL,
    last       TEXT NOT NULL,
    PRIMARY KEY (network_id, subnet)
  ) STRICT, WITHOUT ROWID;
  `,
  // Networks say whether they are complete, so that a create or remove that was killed half-way
  // is finished by the next one instead of looking healthy, and their driver is plain text that
  // the engine's driver registry checks, so a new driver needs no migration. Endpoints record
  // their namespace's identity (device:inode), so one namespace named two ways is one container;
  // each owner (the CLI, a CNI runtime) has its own names, so a runtime's container id never meets
  // a netns name.
  `
  CREATE TABLE networks_v2 (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    driver   TEXT NOT NULL,
    bridge   TEXT UNIQUE,
    mtu      INTEGER NOT NULL,
    nat      INTEGER NOT NULL CHECK (nat IN (0, 1)),
    internal INTEGER NOT NULL CHECK (internal IN (0, 1)),
    subnets  TEXT NOT NULL,
    status   TEXT NOT NULL CHECK (status IN ('creating', 'ready', 'removing')),
    created  TEXT NOT NULL
  ) STRICT;
  INSERT INTO networks_v2 (id, name, driver, bridge, mtu, nat, internal, subnets, status, created)
    SELECT id, name, driver, bridge, mtu, nat, internal, subnets, 'ready', created FROM networks;
  DROP TABLE networks;
  ALTER TABLE networks_v2 RENAME TO networks;

  CREATE TABLE endpoints_v2 (
    id          TEXT PRIMARY KEY,
    network_id  TEXT NOT NULL REFERENCES networks (id) ON DELETE RESTRICT,
    container   TEXT NOT NULL,
    netns       TEXT NOT NULL,
    netns_id    TEXT NOT NULL,  -- "dev:ino" of the namespace file; '' when not known
    ifname      TEXT NOT NULL,
    host_ifname TEXT NOT NULL,
    mac         TEXT NOT NULL,
    addresses   TEXT NOT NULL,
    ports       TEXT NOT NULL,
    owner       TEXT NOT NULL CHECK (owner IN ('cli', 'cni')),
    status      TEXT NOT NULL CHECK (status IN ('creating', 'ready', 'removing')),
    created     TEXT NOT NULL,
    UNIQUE (network_id, owner, container, ifname)
  ) STRICT;
  INSERT INTO endpoints_v2 (id, network_id, container, netns, netns_id, ifname, host_ifname, mac, addresses, ports, owner, status, created)
    SELECT id, network_id, container, netns, '', ifname, host_ifname, mac, addresses, ports, owner, 'ready', created FROM endpoints;
  DROP TABLE endpoints;
  ALTER TABLE endpoints_v2 RENAME TO endpoints;
  CREATE INDEX endpoints_container ON endpoints (container);
  CREATE INDEX endpoints_netns ON endpoints (netns);
  CREATE INDEX endpoints_netns_id ON endpoints (netns_id);
  `,
  `
  -- A port asked for on every address collides with that port on any address: looking it up by
  -- (family, protocol, host_port) takes one index search instead of a scan of the protocol's rows.
  CREATE INDEX published_ports_port ON published_ports (family, protocol, host_port);
  `,
];

/** Schema version this build of ctnet writes. */
export const STATE_SCHEMA_VERSION = MIGRATIONS.length;

/** Bring the schema to {@link STATE_SCHEMA_VERSION}, running each missing step once. */
export function migrate(db: Database.Database): void {
  const target = MIGRATIONS.length;
  const current = userVersion(db);
  if (current > target) {
    throw new StateError(`database schema version ${current} is newer than this ctnet supports (${target})`);
  }
  if (current === target) return;
  // A step may rebuild a table that others reference (SQLite cannot change a constraint in
  // place): with foreign keys enforced, dropping the old table would cascade into the tables that
  // reference it. The pragma has no effect inside a transaction, so it is switched around it, and
  // the references are checked before the step commits.
  const enforced = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      // Read again under the write lock: another process may have migrated while this one waited.
      const from = userVersion(db);
      if (from >= target) return;
      for (const step of MIGRATIONS.slice(from)) db.exec(step);
      const broken = db.pragma('foreign_key_check');
      if (Array.isArray(broken) && broken.length > 0) {
        throw new StateError(`migration to schema version ${target} left ${broken.length} broken reference(s)`);
      }
      // PRAGMA takes no bound parameters; target is our own integer
      db.pragma(`user_version = ${target}`);
    }).immediate();
  } finally {
    if (enforced) db.pragma('foreign_keys = ON');
  }
}

function userVersion(db: Database.Database): number {
  const v = db.pragma('user_version', { simple: true });
  if (typeof v !== 'number') throw new StateError(`unexpected user_version ${String(v)}`);
  return v;
}
