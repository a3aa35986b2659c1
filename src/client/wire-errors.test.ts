import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  ConflictError,
  CtnetError,
  HostError,
  InvalidConfigError,
  IptablesError,
  IpamExhaustedError,
  NetlinkError,
  NftError,
  NotFoundError,
  StateError,
  SystemError,
  TeardownError,
  TimeoutError,
  wrapError,
} from '../errors.js';
import { errorFromWire, errorToWire } from './wire-errors.js';

/** An error after the trip through the socket, as JSON text. */
function travelled(err: unknown): Error {
  return errorFromWire(JSON.parse(JSON.stringify(errorToWire(err))) as ReturnType<typeof errorToWire>);
}

function ownFields(err: Error): Record<string, unknown> {
  return Object.fromEntries(Object.entries(err));
}

describe('errorToWire() and errorFromWire()', () => {
  const cases: [string, Error][] = [
    ['InvalidConfigError', new InvalidConfigError('bad subnet')],
    ['NotFoundError', new NotFoundError('network "x" not found')],
    ['ConflictError', wrapError('connect "c1" to network "n"', new ConflictError('already connected'))],
    ['IpamExhaustedError', new IpamExhaustedError('no free address')],
    ['StateError', new StateError('database is locked')],
    ['TimeoutError', new TimeoutError('lock held; try again later')],
    ['SystemError', new SystemError('open /run/netns/c1: No such file or directory', { errno: -2, syscall: 'open' })],
    ['NetlinkError', wrapError('connect "c1" to network "n"', new NetlinkError({ op: 'RTM_NEWLINK', object: 'ct0a1b', errno: 17, extack: 'exists' }))],
    ['NftError', new NftError('nft failed', { stderr: 'Error: No such file or directory', errnoName: 'ENOENT' })],
    ['IptablesError', new IptablesError('iptables-legacy-restore failed', { stderr: 'iptables-legacy-restore: line 2 failed' })],
    ['HostError', new HostError('IPv4 forwarding is off')],
  ];
  for (const [name, err] of cases) {
    it(`bring back a ${name} as the same class, code, message and fields`, () => {
      const back = travelled(err);
      assert.ok(back instanceof CtnetError);
      assert.equal(back.constructor, err.constructor);
      assert.equal(back.message, err.message);
      assert.deepEqual(ownFields(back), ownFields(err));
    });
  }

  it('bring a TeardownError back with the errors it holds', () => {
    const err = TeardownError.summarize('remove network "n"', [new NotFoundError('gone'), new NetlinkError({ op: 'RTM_DELLINK', errno: 16 })]);
    const back = travelled(err);
    assert.ok(back instanceof TeardownError);
    assert.equal(back.message, err.message);
    assert.equal(back.code, 'CTNET_TEARDOWN');
    assert.deepEqual(back.errors.map((e: Error) => [e.constructor, e.message]), err.errors.map((e: Error) => [e.constructor, e.message]));
  });

  it('send anything else as CTNET_INTERNAL, which comes back as a plain Error with its message', () => {
    assert.deepEqual(errorToWire(new TypeError('x is not iterable')), { error: 'x is not iterable', code: 'CTNET_INTERNAL' });
    const back = travelled(new TypeError('x is not iterable'));
    assert.ok(!(back instanceof CtnetError));
    assert.equal(back.message, 'x is not iterable');
    assert.equal(errorFromWire({ error: 'from a newer agent', code: 'CTNET_SOMETHING_NEW' }).message, 'from a newer agent');
  });
});
