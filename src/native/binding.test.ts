/**
 * The addon's failures as NativeErrors, named by describeErrno. Only calls on descriptors that do
 * not exist: no socket is opened and nothing is changed, so these run anywhere without root. The
 * calls that need the kernel are tested in test/integration/native.test.ts, inside the sandbox.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isNativeError, native } from './binding.js';

const NO_FD = 999_999;

function isBadFd(syscall: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(isNativeError(err), `a NativeError, got ${String(err)}`);
    const { code, errno, message } = err;
    assert.deepEqual({ code, errno, syscall: err.syscall, message }, { code: 'EBADF', errno: 9, syscall, message: `${syscall} failed: Bad file descriptor` });
    return true;
  };
}

describe('native errors', () => {
  it('a failed synchronous call throws code, errno, syscall and the strerror text', () => {
    assert.throws(() => { native.close(NO_FD); }, isBadFd('close'));
    assert.throws(() => { native.netlinkSend(NO_FD, Buffer.alloc(16)); }, isBadFd('sendto'));
  });

  it('the stack starts where the addon was called', () => {
    assert.throws(
      () => { native.close(NO_FD); },
      (err: unknown) => err instanceof Error && /binding\.test\.js/.test(err.stack?.split('\n')[1] ?? ''),
    );
  });

  it('a failed async call rejects with the same shape', async () => {
    await assert.rejects(native.netlinkSendAsync(NO_FD, Buffer.alloc(16)), isBadFd('sendto'));
    await assert.rejects(native.netlinkRecvAsync(NO_FD, 0), isBadFd('poll'));
  });

  it('a wrong argument is a TypeError, not a system error', () => {
    assert.throws(() => { native.close(Number.NaN); }, TypeError);
    assert.throws(() => native.netlinkSendAsync(0, 'text' as unknown as Uint8Array), TypeError);
    assert.throws(() => native.netlinkRecvAsync(0, 1.5), TypeError);
  });
});
