import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { formatHostIp, formatPortHost, formatPortRange } from './port.js';

test('formatHostIp() brackets IPv6 addresses only', () => {
  assert.equal(formatHostIp('127.0.0.1'), '127.0.0.1');
  assert.equal(formatHostIp('fd00::1'), '[fd00::1]');
});

test('formatPortHost() writes every address of a family as 0.0.0.0 or [::]', () => {
  assert.equal(formatPortHost(4, null), '0.0.0.0');
  assert.equal(formatPortHost(6, undefined), '[::]');
  assert.equal(formatPortHost(4, '192.0.2.10'), '192.0.2.10');
  assert.equal(formatPortHost(6, 'fd00::1'), '[fd00::1]');
});

test('formatPortRange() writes a range only when an end is given', () => {
  assert.equal(formatPortRange(8080), '8080');
  assert.equal(formatPortRange(8080, 8081), '8080-8081');
  assert.equal(formatPortRange(8080, 8080), '8080-8080');
});
