/**
 * Runs `nft`: one process per transaction, JSON in and out. This is the only module that spawns
 * nft and the only place that turns nft's stderr into an errno name.
 * @module
 */
import type { ExecFileException } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { debuglog } from 'node:util';
import { NftError } from '../../errors.js';
import type { NftBatch, NftCommand } from './schema.js';

const debug = debuglog('ctnet');

/**
 * Applies nft batches and reads nft listings. The real implementation is {@link ExecNftRunner};
 * unit tests use the recording `FakeNftRunner`.
 */
export interface NftRunner {
  /**
   * Applies `commands` as one atomic transaction: either all of them take effect or none.
   * Rejects with an `NftError` whose `errnoName` tells why (`ENOENT`, `EEXIST`, `EBUSY`, `EPERM`).
   */
  run(commands: NftCommand[]): Promise<void>;
  /**
   * Runs `nft -j list ARGS...` and returns the parsed JSON document (`{ nftables: [...] }`).
   * A missing table rejects with an `NftError` for which `isNotFound()` is true.
   */
  list(args: string[]): Promise<unknown>;
}

/** Options of {@link ExecNftRunner}. */
export interface ExecNftRunnerOptions {
  /** The nft binary. Default: the first `nft` found in `PATH`, `/usr/sbin`, `/sbin`, `/usr/local/sbin`. */
  nftPath?: string;
  /** Kill nft and fail after this many milliseconds. Default 10000. */
  timeoutMs?: number;
}

// CNI runtimes may call the plugin with a PATH that lacks the sbin directories, where nft lives.
const SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];
const DEFAULT_TIMEOUT_MS = 10_000;
// A listing grows with published ports; execFile's 1 MiB default would cut a large one short.
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Runs the real `nft` binary.
 *
 * A batch is written to a private temporary file and applied with `nft -j -f FILE`. Not stdin:
 * Node gives a child a socketpair as stdin and nft fails to open it (`ENXIO`). Not the command line
 * either: an argument is capped at 128 KiB (`MAX_ARG_STRLEN`) and published-port maps will outgrow
 * it, and it would be visible to every user in `/proc/PID/cmdline`. The file costs well under a
 * millisecond next to nft's own ~17 ms.
 *
 * @example
 * ```ts
 * const runner = new ExecNftRunner();
 * await runner.run([{ add: { table: { family: 'inet', name: 'ctnet' } } }]);
 * const listing = await runner.list(['table', 'inet', 'ctnet']);
 * ```
 */
export class ExecNftRunner implements NftRunner {
  readonly #explicitPath: string | undefined;
  readonly #timeoutMs: number;
  #resolved: Promise<string> | undefined;

  constructor(options: ExecNftRunnerOptions = {}) {
    this.#explicitPath = options.nftPath;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Applies `commands` in one `nft -j -f FILE` run; an empty list does nothing. */
  async run(commands: NftCommand[]): Promise<void> {
    await this.#runBatch(commands, []);
  }

  /**
   * Checks `commands` with `nft -c -j -f FILE`: the kernel validates the whole transaction and
   * then aborts it, so nothing changes.
   */
  async check(commands: NftCommand[]): Promise<void> {
    await this.#runBatch(commands, ['-c']);
  }

  /** Runs `nft -j list ARGS...` and parses its output. */
  async list(args: string[]): Promise<unknown> {
    const what = `nft list ${args.join(' ')}`;
    debug('%s', what);
    const stdout = await this.#exec(['-j', 'list', ...args], what);
    try {
      return JSON.parse(stdout) as unknown;
    } catch (err) {
      throw new NftError(`${what}: cannot parse the output of nft as JSON`, { stderr: '', cause: err });
    }
  }

  async #runBatch(commands: NftCommand[], extraArgs: string[]): Promise<void> {
    if (commands.length === 0) return;
    const batch: NftBatch = { nftables: commands };
    const text = JSON.stringify(batch);
    // mkdtemp creates the directory with mode 0700, so no other user can read or swap the file.
    const dir = await mkdtemp(join(tmpdir(), 'ctnet-nft-'));
    try {
      const file = join(dir, 'batch.json');
      await writeFile(file, text, { mode: 0o600, flag: 'wx' });
      const args = [...extraArgs, '-j', '-f', file];
      if (debug.enabled) debug('nft %s %s', args.join(' '), text);
      await this.#exec(args, 'nft transaction');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #exec(args: string[], what: string): Promise<string> {
    const nft = await this.#nftPath();
    // Loaded on first use: most CLI invocations (connect without ports, ls) never run nft.
    const { execFile } = await import('node:child_process');
    return new Promise((resolve, reject) => {
      execFile(
        nft,
        args,
        { timeout: this.#timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err === null) {
            resolve(stdout);
            return;
          }
          reject(execFailure(err, { nft, what, stderr, timeoutMs: this.#timeoutMs }));
        },
      );
    });
  }

  #nftPath(): Promise<string> {
    if (this.#explicitPath !== undefined) return Promise.resolve(this.#explicitPath);
    this.#resolved ??= findNft();
    return this.#resolved;
  }
}

function execFailure(
  err: ExecFileException,
  ctx: { nft: string; what: string; stderr: string; timeoutMs: number },
): NftError {
  // A string code means spawning failed; a number is nft's exit status.
  if (err.code === 'ENOENT') {
    return new NftError(`nft is not installed: cannot run "${ctx.nft}"`, { stderr: '', cause: err });
  }
  if (typeof err.code === 'string') {
    return new NftError(`cannot run "${ctx.nft}": ${err.code}`, {
      stderr: '',
      errnoName: err.code,
      cause: err,
    });
  }
  if (err.killed === true && err.signal !== null && err.signal !== undefined) {
    return new NftError(`${ctx.what} timed out after ${ctx.timeoutMs} ms`, {
      stderr: ctx.stderr,
      errnoName: 'ETIMEDOUT',
      cause: err,
    });
  }
  return nftErrorFromStderr(`${ctx.what} failed`, ctx.stderr, { cause: err });
}

async function findNft(): Promise<string> {
  const pathDirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  const dirs = [...new Set([...pathDirs, ...SBIN_DIRS])];
  for (const dir of dirs) {
    const candidate = join(dir, 'nft');
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  throw new NftError(`nft is not installed: no executable "nft" in ${dirs.join(', ')}`, { stderr: '' });
}

/**
 * nft's messages → errno names. nft never calls setlocale(), so the kernel's strerror() texts and
 * nft's own messages reach stderr in English whatever the user's locale, and matching them is stable.
 * Userspace checks (interval sets are validated by nft before the kernel sees them) have their own
 * wording for the same conditions.
 */
const STDERR_ERRNO: readonly (readonly [RegExp, string])[] = [
  [/No such file or directory/, 'ENOENT'],
  [/element does not exist/, 'ENOENT'],
  [/File exists/, 'EEXIST'],
  [/interval overlaps with an existing one|conflicting intervals specified/, 'EEXIST'],
  [/Device or resource busy/, 'EBUSY'],
  [/Operation not permitted/, 'EPERM'],
  [/Permission denied/, 'EACCES'],
  [/Operation not supported/, 'EOPNOTSUPP'],
  [/No space left on device/, 'ENOSPC'],
  [/Invalid argument/, 'EINVAL'],
];

/**
 * The errno name nft's stderr reports, or `undefined` when it names none (a syntax error, say).
 *
 * @example
 * ```ts
 * errnoNameFromStderr('internal:0:0-0: Error: Could not process rule: File exists\n'); // 'EEXIST'
 * ```
 */
export function errnoNameFromStderr(stderr: string): string | undefined {
  for (const [pattern, name] of STDERR_ERRNO) {
    if (pattern.test(stderr)) return name;
  }
  return undefined;
}

/**
 * Builds the `NftError` for a failed nft run: `<what>: <first error lines of stderr>`, with the
 * errno name from {@link errnoNameFromStderr} so callers can use `isNotFound()`/`isAlreadyExists()`.
 *
 * @param what The failed action, e.g. `nft transaction failed`.
 * @param stderr Everything nft wrote to stderr.
 * @example
 * ```ts
 * const err = nftErrorFromStderr('nft transaction failed', 'Error: Could not process rule: File exists');
 * err.message;   // 'nft transaction failed: Error: Could not process rule: File exists'
 * err.errnoName; // 'EEXIST'
 * ```
 */
export function nftErrorFromStderr(what: string, stderr: string, options: { cause?: unknown } = {}): NftError {
  const errnoName = errnoNameFromStderr(stderr);
  const summary = summarizeStderr(stderr);
  const message = summary === '' ? what : `${what}: ${summary}`;
  return new NftError(message, {
    stderr,
    ...(errnoName === undefined ? {} : { errnoName }),
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}

// With JSON input nft has no source positions: every line starts "internal:0:0-0: " and text-mode
// errors are followed by the command and a caret line. Keep the "Error:" lines, without that noise.
function summarizeStderr(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^internal:\d+:\d+-\d+:\s*/, '').trim())
    .filter((l) => l !== '' && !/^[\s^~]+$/.test(l));
  const errors = lines.filter((l) => /\bError:/.test(l));
  const chosen = errors.length > 0 ? errors : lines.slice(0, 1);
  return chosen.slice(0, 3).join('; ');
}
