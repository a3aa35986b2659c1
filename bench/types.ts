/**
 * What a row group reports: rows of samples, notes for the table, rows it skipped or that failed.
 * @module
 */

/** Units a row's samples are in. */
export type Unit = 'ms' | 'us' | 'Gbit/s' | 'MiB' | 'ratio';

/** One line of the table: every sample, in `unit`. */
export interface Row {
  /** Stable key the targets and the JSON use, e.g. `connect.lib.add`. */
  id: string;
  group: string;
  name: string;
  unit: Unit;
  samples: number[];
  /** Shown after the numbers: what was measured when the name does not say it all. */
  note?: string;
  /** Extra measured values (e.g. iperf's whole-run average), kept in the JSON. */
  extra?: Record<string, number | string | boolean>;
}

/** A row that was not measured, and why. */
export interface Missing {
  row: string;
  reason: string;
}

export type GroupStatus = 'ok' | 'partial' | 'failed';

export interface GroupResult {
  group: string;
  status: GroupStatus;
  error?: string;
  seconds: number;
  rows: Row[];
  notes: string[];
  skipped: Missing[];
  failed: Missing[];
}

/** What a row group gets from main.ts. */
export interface GroupContext {
  /** Samples per latency row (default 50). */
  n: number;
  /** A directory of this group's own (state dirs, data dirs), inside the sandbox's tmpfs. */
  dir: string;
  add(row: Omit<Row, 'group'>): void;
  note(text: string): void;
  /** A row that will not be measured: printed loudly and listed in the table. */
  skip(row: string, reason: string): void;
  /**
   * Run one row (or a few rows that share setup): an error is printed, the row is reported as
   * failed and the group goes on with the next one.
   */
  attempt(row: string, fn: () => void | Promise<void>): Promise<boolean>;
  log(text: string): void;
}

export interface Group {
  name: string;
  describe: string;
  run(ctx: GroupContext): Promise<void>;
}
