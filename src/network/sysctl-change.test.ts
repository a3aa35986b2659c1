import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { describeSysctlChange } from './sysctl-change.js';

test('describeSysctlChange() says what was set, what it was and why; an unreadable value says so', () => {
  const change = { key: 'net.ipv4.ip_forward', previous: '0', value: '1', why: 'the host forwards the IPv4 traffic of its networks', ownLink: false };
  assert.equal(describeSysctlChange(change), 'set sysctl net.ipv4.ip_forward=1 (was 0): the host forwards the IPv4 traffic of its networks');
  assert.equal(describeSysctlChange({ ...change, previous: null }), 'set sysctl net.ipv4.ip_forward=1 (was unreadable): the host forwards the IPv4 traffic of its networks');
});
