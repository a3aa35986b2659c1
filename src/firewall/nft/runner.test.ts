import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NftError, isAlreadyExists, isNotFound } from '../../errors.js';
import { ExecNftRunner, errnoNameFromStderr, nftErrorFromStderr } from './runner.js';
import type { NftCommand } from './schema.js';

// stderr as nft 1.0.6 prints it (captured in the sandbox), and what it must map to.
const STDERR_CASES: readonly (readonly [string, string | undefined])[] = [
  ['internal:0:0-0: Error: Could not process rule: No such file or directory\n\n', 'ENOENT'],
  ['Error: No such file or directory\nlist table inet nope\n                ^^^^\n', 'ENOENT'],
  ['internal:0:0-0: Error: element does not exist\n\n', 'ENOENT'],
  ['internal:0:0-0: Error: Could not process rule: File exists\n\n', 'EEXIST'],
  ['internal:0:0-0: Error: interval overlaps with an existing one\n\n', 'EEXIST'],
  ['internal:0:0-0: Error: Could not process rule: Device or resource busy\n\n', 'EBUSY'],
  ['Operation not permitted (you must be root)\n', 'EPERM'],
  ['netlink: Error: cache initialization failed: Operation not permitted\n', 'EPERM'],
  [
    'internal:0:0-0: Error: Unknown object passed to add command.\n\n' +
      'internal:0:0-0: Error: Parsing command array at index 0 failed.\n\n',
    undefined,
  ],
];

describe('errnoNameFromStderr()', () => {
  for (const [stderr, expected] of STDERR_CASES) {
    test(`maps ${JSON.stringify(stderr.split('\n')[0])} to ${String(expected)}`, () => {
      assert.equal(errnoNameFromStderr(stderr), expected);
    });
  }
});

describe('nftErrorFromStderr()', () => {
  test('keeps the Error lines without the "internal:" position prefix', () => {
    const err = nftErrorFromStderr(
      'nft transaction failed',
      'internal:0:0-0: Error: Could not process rule: No such file or directory\n\n',
    );
    assert.ok(err instanceof NftError);
    assert.equal(err.code, 'CTNET_NFT');
    assert.equal(err.message, 'nft transaction failed: Error: Could not process rule: No such file or directory');
    assert.equal(err.errnoName, 'ENOENT');
    assert.equal(isNotFound(err), true);
    assert.equal(isAlreadyExists(err), false);
  });

  test('EEXIST satisfies isAlreadyExists()', () => {
    const err = nftErrorFromStderr('nft transaction failed', 'internal:0:0-0: Error: Could not process rule: File exists\n');
    assert.equal(isAlreadyExists(err), true);
    assert.equal(isNotFound(err), false);
  });

  test('drops the echoed command and caret line of a list error', () => {
    const err = nftErrorFromStderr(
      'nft list table inet nope failed',
      'Error: No such file or directory\nlist table inet nope\n                ^^^^\n',
    );
    assert.equal(err.message, 'nft list table inet nope failed: Error: No such file or directory');
  });

  test('joins several Error lines and leaves errnoName unset when none is named', () => {
    const err = nftErrorFromStderr(
      'nft transaction failed',
      'internal:0:0-0: Error: Unknown object passed to add command.\n\n' +
        'internal:0:0-0: Error: Parsing command array at index 0 failed.\n\n',
    );
    assert.equal(
      err.message,
      'nft transaction failed: Error: Unknown object passed to add command.; ' +
        'Error: Parsing command array at index 0 failed.',
    );
    assert.equal(err.errnoName, undefined);
    assert.equal(err.stderr.includes('Unknown object'), true);
  });

  test('falls back to the first line when there is no Error line', () => {
    const err = nftErrorFromStderr('nft transaction failed', 'Operation not permitted (you must be root)\n');
    assert.equal(err.message, 'nft transaction failed: Operation not permitted (you must be root)');
    assert.equal(err.errnoName, 'EPERM');
  });
});

/** Entries in the temporary directory named as the batch directories of earlier versions. */
async function batchDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('ctnet-nft-')).sort();
}

/** Poll `probe` every 20 ms until it gives a value; fail after 5 s. */
async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for the stand-in nft to start');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ExecNftRunner against stand-in nft scripts: no root, no real nft.
describe('ExecNftRunner', () => {
  let dir = '';
  const batch: NftCommand[] = [{ add: { table: { family: 'inet', name: 'ctnet' } } }];

  async function script(name: string, body: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctnet-runner-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('run() passes the batch as "-j -f /dev/stdin", stdin a file that never had a name', async () => {
    const out = join(dir, 'seen');
    // nft opens /dev/stdin anew: it must be a regular file (a pipe from Node would be a socket).
    const nft = await script(
      'nft-record',
      `echo "$@" > ${out}.args; [ -f /dev/stdin ] && cat /dev/stdin > ${out}.json; readlink /proc/$$/fd/0 > ${out}.link`,
    );
    await new ExecNftRunner({ nftPath: nft }).run(batch);
    assert.equal((await readFile(`${out}.args`, 'utf8')).trim(), '-j -f /dev/stdin');
    assert.deepEqual(JSON.parse(await readFile(`${out}.json`, 'utf8')), { nftables: batch });
    // What the kernel calls an O_TMPFILE file: `DIR/#INODE (deleted)`.
    assert.match((await readFile(`${out}.link`, 'utf8')).trim(), /^\/.*\/#\d+ \(deleted\)$/);
  });

  test('a runner killed during an nft run leaves nothing in the temporary directory', async () => {
    const out = join(dir, 'killed');
    const nft = await script('nft-slow', `echo $$ > ${out}.pid; exec sleep 30`);
    const before = await batchDirs();
    const runnerJs = new URL('./runner.js', import.meta.url).href;
    const code = `const { ExecNftRunner } = await import(${JSON.stringify(runnerJs)}); await new ExecNftRunner({ nftPath: ${JSON.stringify(nft)} }).run(${JSON.stringify(batch)});`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore' });
    const nftPid = await waitFor(async () => Number(await readFile(`${out}.pid`, 'utf8').catch(() => '')) || undefined);
    try {
      process.kill(child.pid ?? 0, 'SIGKILL');
      await new Promise((resolveExit) => child.once('exit', resolveExit));
      assert.deepEqual(await batchDirs(), before, 'no ctnet-nft-* entry is left');
    } finally {
      process.kill(nftPid, 'SIGKILL');
    }
  });

  test('check() adds -c', async () => {
    const out = join(dir, 'check-args');
    const nft = await script('nft-check', `echo "$@" > ${out}`);
    await new ExecNftRunner({ nftPath: nft }).check(batch);
    assert.match(await readFile(out, 'utf8'), /^-c -j -f \/dev\/stdin$/m);
  });

  test('run() with no commands does not start nft', async () => {
    await new ExecNftRunner({ nftPath: join(dir, 'does-not-exist') }).run([]);
  });

  test('run() maps a failing nft to an NftError with errnoName', async () => {
    const nft = await script(
      'nft-eexist',
      'echo "internal:0:0-0: Error: Could not process rule: File exists" >&2; echo >&2; exit 1',
    );
    await assert.rejects(new ExecNftRunner({ nftPath: nft }).run(batch), (err: unknown) => {
      assert.ok(err instanceof NftError);
      assert.equal(err.message, 'nft transaction failed: Error: Could not process rule: File exists');
      assert.equal(err.errnoName, 'EEXIST');
      return true;
    });
  });

  test('list() runs "nft -j list ARGS" and parses the output', async () => {
    const nft = await script('nft-list', `[ "$*" = "-j list table inet ctnet" ] || exit 3; echo '{"nftables": [{"metainfo": {}}]}'`);
    assert.deepEqual(await new ExecNftRunner({ nftPath: nft }).list(['table', 'inet', 'ctnet']), {
      nftables: [{ metainfo: {} }],
    });
  });

  test('list() of a missing table satisfies isNotFound()', async () => {
    const nft = await script('nft-enoent', 'printf "Error: No such file or directory\\nlist table inet ctnet\\n ^^\\n" >&2; exit 1');
    await assert.rejects(new ExecNftRunner({ nftPath: nft }).list(['table', 'inet', 'ctnet']), (err: unknown) => {
      assert.equal(isNotFound(err), true);
      assert.match((err as Error).message, /^nft list table inet ctnet failed: Error: No such file or directory$/);
      return true;
    });
  });

  test('a missing nft binary says nft is not installed and is not "not found"', async () => {
    await assert.rejects(new ExecNftRunner({ nftPath: join(dir, 'no-nft') }).run(batch), (err: unknown) => {
      assert.ok(err instanceof NftError);
      assert.match(err.message, /^nft is not installed/);
      // A teardown must not mistake a missing binary for a missing table.
      assert.equal(isNotFound(err), false);
      return true;
    });
  });

  test('a hung nft is killed after timeoutMs', async () => {
    const nft = await script('nft-hang', 'exec sleep 5');
    const started = Date.now();
    await assert.rejects(new ExecNftRunner({ nftPath: nft, timeoutMs: 200 }).run(batch), (err: unknown) => {
      assert.ok(err instanceof NftError);
      assert.equal(err.errnoName, 'ETIMEDOUT');
      assert.match(err.message, /timed out after 200 ms/);
      return true;
    });
    assert.ok(Date.now() - started < 4000);
  });
});
