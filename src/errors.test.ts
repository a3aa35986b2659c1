import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CtnetError,
  describeErrno,
  fromSystemError,
  InvalidConfigError,
  isAlreadyExists,
  isNotFound,
  NetlinkError,
  NotFoundError,
  SystemError,
  systemErrorCode,
  TeardownError,
  wrapError,
} from './errors.js';

describe('describeErrno()', () => {
  it('names errnos as the kernel headers do, with strerror text', () => {
    assert.deepEqual(describeErrno(17), { name: 'EEXIST', text: 'File exists' });
    assert.deepEqual(describeErrno(-19), { name: 'ENODEV', text: 'No such device' });
    assert.deepEqual(describeErrno(95), { name: 'EOPNOTSUPP', text: 'Operation not supported' });
  });

  it('knows Linux errnos libuv does not (a full bridge answers EXFULL)', () => {
    assert.deepEqual(describeErrno(54), { name: 'EXFULL', text: 'Exchange full' });
    assert.deepEqual(describeErrno(8), { name: 'ENOEXEC', text: 'Exec format error' });
  });

  it("words every errno as glibc's strerror() does", () => {
    assert.equal(describeErrno(9).text, 'Bad file descriptor'); // libuv: 'bad file descriptor'
    assert.equal(describeErrno(12).text, 'Cannot allocate memory'); // libuv: 'not enough memory'
    assert.equal(describeErrno(93).text, 'Protocol not supported');
  });

  it('gives unknown numbers a generic name', () => {
    assert.equal(describeErrno(4000).name, 'E4000');
  });
});

describe('NetlinkError', () => {
  it('says op, object, errno name, text and the kernel extack', () => {
    const err = new NetlinkError({ op: 'RTM_NEWLINK', object: 'veth-ab12', errno: 17 });
    assert.equal(err.message, 'RTM_NEWLINK veth-ab12 failed: EEXIST (File exists)');
    assert.equal(err.code, 'CTNET_NETLINK');
    assert.equal(err.errnoName, 'EEXIST');
    assert.ok(isAlreadyExists(err));
    const ext = new NetlinkError({ op: 'RTM_NEWLINK', object: 'd0', errno: 95, extack: 'Unknown device type' });
    assert.equal(ext.message, 'RTM_NEWLINK d0 failed: EOPNOTSUPP (Operation not supported): Unknown device type');
  });

  it('ENODEV and ENOENT are not-found', () => {
    assert.ok(isNotFound(new NetlinkError({ op: 'RTM_DELLINK', object: 'x', errno: 19 })));
    assert.ok(!isNotFound(new NetlinkError({ op: 'RTM_DELLINK', object: 'x', errno: 1 })));
  });
});

/** What node:fs throws: negative errno, libuv's code, syscall. */
function fsError(): Error {
  try {
    readFileSync('/proc/self/ctnet-no-such-file');
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('the file exists');
}

describe('SystemError', () => {
  it('carries errno, syscall and the errno name of a native error', () => {
    const native = Object.assign(new Error('setns failed: Invalid argument'), { code: 'EINVAL', errno: 22, syscall: 'setns' });
    const err = fromSystemError('open netlink socket', native);
    assert.ok(err instanceof SystemError);
    assert.equal(err.code, 'CTNET_SYSTEM');
    assert.deepEqual([err.errno, err.errnoName, err.syscall], [22, 'EINVAL', 'setns']);
    assert.equal(err.message, 'open netlink socket: setns failed: Invalid argument');
    assert.equal(err.cause, native);
  });

  it('carries errno (made positive), syscall and the errno name of a node:fs error', () => {
    const err = fromSystemError('read state', fsError());
    assert.deepEqual([err.errno, err.errnoName, err.syscall], [2, 'ENOENT', 'open']);
  });

  it('names errnos as describeErrno does, not as libuv does', () => {
    const enotsup = Object.assign(new Error('x'), { code: 'ENOTSUP', errno: -95, syscall: 'copyfile' });
    assert.equal(systemErrorCode(enotsup), 'EOPNOTSUPP');
    assert.equal(fromSystemError('copy', enotsup).errnoName, 'EOPNOTSUPP');
    assert.equal(systemErrorCode(fsError()), 'ENOENT');
  });

  it('has no errno for an error that is no failed system call', () => {
    const err = fromSystemError('x', Object.assign(new TypeError('bad'), { code: 'ERR_INVALID_ARG_TYPE' }));
    assert.deepEqual([err.errno, err.errnoName, err.syscall], [undefined, undefined, undefined]);
    assert.equal(systemErrorCode(new Error('plain')), undefined);
    assert.equal(new SystemError('y', { errnoName: 'EMSGSIZE' }).errnoName, 'EMSGSIZE');
  });
});

describe('wrapError()', () => {
  it('adds one clause of context and keeps class and code', () => {
    const err = wrapError('connect net1 to mybridge', new NetlinkError({ op: 'RTM_NEWLINK', object: 'veth-ab12', errno: 17 }));
    assert.ok(err instanceof NetlinkError);
    assert.equal(err.message, 'connect net1 to mybridge: RTM_NEWLINK veth-ab12 failed: EEXIST (File exists)');
    assert.equal(err.errnoName, 'EEXIST');
    assert.equal(err.code, 'CTNET_NETLINK');
  });

  it('keeps the original, with its message and stack, as cause', () => {
    const original = new NotFoundError('bridge br0 is missing');
    const err = wrapError('connect "c1"', wrapError('attach', original));
    assert.ok(err instanceof NotFoundError && err instanceof CtnetError);
    assert.equal(err.message, 'connect "c1": attach: bridge br0 is missing');
    const inner = err.cause;
    assert.ok(inner instanceof Error);
    assert.equal(inner.message, 'attach: bridge br0 is missing');
    assert.equal(inner.cause, original);
    assert.equal(original.message, 'bridge br0 is missing');
    assert.match(err.stack ?? '', /^NotFoundError: connect "c1": attach: bridge br0 is missing\n/);
    assert.ok(isNotFound(err));
  });

  it('wraps a value that is no Error in a plain Error', () => {
    assert.equal(wrapError('x', 'boom').message, 'x: boom');
  });
});

describe('CtnetError branding', () => {
  it('instanceof CtnetError holds for every subclass and for errors of another copy of the package', () => {
    assert.ok(new InvalidConfigError('x') instanceof CtnetError);
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('ctnet.error'), { value: true });
    assert.ok(foreign instanceof CtnetError);
    assert.ok(!(new Error('x') instanceof CtnetError));
    assert.ok(!(new InvalidConfigError('x') instanceof NotFoundError));
  });
});

describe('TeardownError', () => {
  it('flattens nested teardown errors and summarizes them in one line', () => {
    const inner = TeardownError.summarize('inner', [new Error('a'), new Error('b')]);
    const outer = TeardownError.summarize('remove network "n"', [inner, new Error('c')]);
    assert.equal(outer.errors.length, 3);
    assert.equal(outer.code, 'CTNET_TEARDOWN');
    assert.equal(outer.message, 'remove network "n": inner: a; b; c');
  });
});
