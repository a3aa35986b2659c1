/**
 * Runs `nft`: one process per transaction, JSON in and out. This is the only module that spawns
 * nft and the only place that turns nft's stderr into an errno name.
 * @module
 */
import { constants as fsConstants } from 'node:fs';
import { access, type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { debuglog } from 'node:util';
import { errorMessage, NftError, systemErrorCode } from '../../errors.js';
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
// A listing grows with published ports; it is read whole, up to this size.
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
// Node has no O_TMPFILE constant. It is __O_TMPFILE, 0o20000000 on every architecture Node runs
// on, with O_DIRECTORY, which differs between architectures and which Node does have.
const O_TMPFILE = 0o20000000 | fsConstants.O_DIRECTORY;
// Where the anonymous batch file may live: the first whose filesystem supports O_TMPFILE.
const BATCH_DIRS = [tmpdir(), '/dev/shm'];

/**
 * Runs the real `nft` binary.
 *
 * A batch is written to an anonymous file (`O_TMPFILE`: it never has a name, and goes away with
 * the last descriptor of it, however ctnet or nft end) that becomes nft's stdin, applied with
 * `nft -j -f /dev/stdin`: nft opens that path anew and reads it from the start, which works for a
 * file (and a pipe, which Node cannot make) and fails (`ENXIO`) for the socketpair Node gives a
 * child as stdin. Not the command line: an argument is
 * capped at 128 KiB (`MAX_ARG_STRLEN`), published-port maps will outgrow it, and it would be
 * visible to every user in `/proc/PID/cmdline`. The file costs well under a millisecond next to
 * nft's own ~17 ms.
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

  /** Applies `commands` in one `nft -j -f /dev/stdin` run; an empty list does nothing. */
  async run(commands: NftCommand[]): Promise<void> {
    await this.#runBatch(commands, []);
  }

  /**
   * Checks `commands` with `nft -c -j -f /dev/stdin`: the kernel validates the whole transaction and
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
    const file = await anonymousFile();
    try {
      await file.writeFile(text);
      const args = [...extraArgs, '-j', '-f', '/dev/stdin'];
      if (debug.enabled) debug('nft %s %s', args.join(' '), text);
      await this.#exec(args, 'nft transaction', file.fd);
    } finally {
      await file.close();
    }
  }

  /** Runs nft with `args`, stdin from descriptor `stdin` (default /dev/null); resolves with its stdout. */
  async #exec(args: string[], what: string, stdin?: number): Promise<string> {
    const nft = await this.#nftPath();
    // Loaded on first use: most CLI invocations (connect without ports, ls) never run nft.
    const { spawn } = await import('node:child_process');
    return new Promise((resolve, reject) => {
      const child = spawn(nft, args, { stdio: [stdin ?? 'ignore', 'pipe', 'pipe'] });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.#timeoutMs);
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES) {
          tooLarge = true;
          child.kill('SIGKILL');
          return;
        }
        into.push(chunk);
      };
      // Both are pipes, as stdio says; the types cannot tell from a descriptor in stdio[0].
      child.stdout?.on('data', collect(stdout));
      child.stderr?.on('data', collect(stderr));
      let settled = false;
      const fail = (end: ExecEnd): void => {
        settled = true;
        clearTimeout(timer);
        reject(execFailure(end, { nft, what, stderr: Buffer.concat(stderr).toString('utf8'), timeoutMs: this.#timeoutMs }));
      };
      child.on('error', (err) => {
        if (!settled) fail({ spawnError: err, tooLarge, timedOut, signal: null });
      });
      child.on('close', (status, signal) => {
        if (settled) return;
        if (status !== 0) {
          fail({ spawnError: undefined, tooLarge, timedOut, signal });
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(Buffer.concat(stdout).toString('utf8'));
      });
    });
  }

  #nftPath(): Promise<string> {
    if (this.#explicitPath !== undefined) return Promise.resolve(this.#explicitPath);
    this.#resolved ??= findNft();
    return this.#resolved;
  }
}

/** How an nft run that did not exit 0 ended. */
interface ExecEnd {
  /** Set when nft could not be started (`code` is the errno name). */
  spawnError: Error | undefined;
  /** Killed because its output outgrew MAX_OUTPUT_BYTES. */
  tooLarge: boolean;
  /** Killed because it ran longer than the timeout. */
  timedOut: boolean;
  /** The signal that ended it, if one did. */
  signal: NodeJS.Signals | null;
}

function execFailure(end: ExecEnd, ctx: { nft: string; what: string; stderr: string; timeoutMs: number }): NftError {
  if (end.spawnError !== undefined) {
    const code = systemErrorCode(end.spawnError);
    if (code === 'ENOENT') return new NftError(`nft is not installed: cannot run "${ctx.nft}"`, { stderr: '', cause: end.spawnError });
    return new NftError(`cannot run "${ctx.nft}": ${code ?? errorMessage(end.spawnError)}`, {
      stderr: '',
      ...(code === undefined ? {} : { errnoName: code }),
      cause: end.spawnError,
    });
  }
  if (end.tooLarge) return new NftError(`${ctx.what}: nft wrote more than ${MAX_OUTPUT_BYTES} bytes`, { stderr: ctx.stderr, errnoName: 'E2BIG' });
  if (end.timedOut) return new NftError(`${ctx.what} timed out after ${ctx.timeoutMs} ms`, { stderr: ctx.stderr, errnoName: 'ETIMEDOUT' });
  if (end.signal !== null) return new NftError(`${ctx.what}: nft was killed by ${end.signal}`, { stderr: ctx.stderr });
  return nftErrorFromStderr(`${ctx.what} failed`, ctx.stderr);
}

/**
 * A new anonymous file, readable and writable by this process only: `O_TMPFILE` in the first of
 * BATCH_DIRS whose filesystem supports it (tmpfs, ext4, xfs and btrfs do; NFS does not).
 */
async function anonymousFile(): Promise<FileHandle> {
  const refusals: string[] = [];
  for (const dir of BATCH_DIRS) {
    try {
      return await open(dir, O_TMPFILE | fsConstants.O_RDWR, 0o600);
    } catch (err) {
      refusals.push(`${dir}: ${systemErrorCode(err) ?? errorMessage(err)}`);
    }
  }
  throw new NftError(`cannot make an anonymous file for the nft batch (O_TMPFILE) in ${refusals.join(', ')}`, { stderr: '' });
}

async function findNft(): Promise<string> {
  const found = await findExecutable('nft');
  if (found === undefined) throw new NftError(`nft is not installed: no executable "nft" in ${searchDirs().join(', ')}`, { stderr: '' });
  return found;
}

// PATH, then the sbin directories a reduced PATH lacks.
function searchDirs(): string[] {
  const pathDirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  return [...new Set([...pathDirs, ...SBIN_DIRS])];
}

/**
 * The path of executable `name` in `PATH` or the sbin directories (`/usr/sbin`, `/sbin`,
 * `/usr/local/sbin`) that CNI runtimes leave out of the plugin's PATH; undefined when there is none.
 *
 * @example
 * ```ts
 * await findExecutable('iptables-legacy-save'); // '/usr/sbin/iptables-legacy-save'
 * ```
 */
export async function findExecutable(name: string): Promise<string | undefined> {
  for (const dir of searchDirs()) {
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return undefined;
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
