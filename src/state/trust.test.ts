import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { InvalidConfigError, StateError } from '../errors.js';
import { assertAbsoluteStateDir, assertPrivateDir, ensurePrivateFile } from './trust.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-trust-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

describe('assertAbsoluteStateDir()', () => {
  it('refuses relative paths', () => {
    assert.throws(() => { assertAbsoluteStateDir('state'); }, InvalidConfigError);
    assert.throws(() => { assertAbsoluteStateDir('./state'); }, /must be an absolute path/);
    assertAbsoluteStateDir('/var/lib/ctnet');
  });
});

describe('assertPrivateDir()', () => {
  it('accepts a directory only its owner can write to', (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    assertPrivateDir(dir);
  });

  it('refuses a directory its group or everyone can write to', (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o775);
    assert.throws(() => { assertPrivateDir(dir); }, (err: unknown) => err instanceof StateError && /writable by its group \(mode 775\)/.test(err.message));
    chmodSync(dir, 0o1777);
    assert.throws(() => { assertPrivateDir(dir); }, /writable by every user/);
  });

  it('refuses a file where the directory should be', (t) => {
    const file = join(tempDir(t), 'f');
    writeFileSync(file, '');
    assert.throws(() => { assertPrivateDir(file); }, /is not a directory/);
  });
});

describe('ensurePrivateFile()', () => {
  it('creates a missing file with mode 0600', (t) => {
    const file = join(tempDir(t), 'ctnet.db');
    ensurePrivateFile(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('keeps an existing private file as it is', (t) => {
    const file = join(tempDir(t), 'ctnet.db');
    writeFileSync(file, 'data', { mode: 0o644 });
    ensurePrivateFile(file);
    assert.equal(statSync(file).mode & 0o777, 0o644);
  });

  it('refuses a file others can write to, and a symlink', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'ctnet.db');
    writeFileSync(file, '');
    chmodSync(file, 0o666);
    assert.throws(() => { ensurePrivateFile(file); }, /writable by every user/);
    const link = join(dir, 'link.db');
    symlinkSync(file, link);
    assert.throws(() => { ensurePrivateFile(link); }, /is not a regular file/);
  });
});
