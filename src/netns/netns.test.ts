import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { InvalidConfigError } from '../errors.js';
import { parseNetnsRef, sysctlName } from './netns.js';

describe('parseNetnsRef()', () => {
  it('names, pids and absolute paths, each with its namespace file', () => {
    assert.deepEqual(parseNetnsRef('net1'), { spec: 'net1', kind: 'name', path: '/run/netns/net1' });
    assert.deepEqual(parseNetnsRef('pid:42'), { spec: 'pid:42', kind: 'pid', path: '/proc/42/ns/net' });
    assert.deepEqual(parseNetnsRef('/proc/42/ns/net'), { spec: '/proc/42/ns/net', kind: 'path', path: '/proc/42/ns/net' });
  });

  it('one canonical path for every spelling of a path', () => {
    assert.equal(parseNetnsRef('/run/netns//c1').path, '/run/netns/c1');
    assert.equal(parseNetnsRef('//run/netns/c1/').path, '/run/netns/c1');
  });

  for (const spec of ['../../../run/netns/c1', 'run/netns/c1', './c1', '/run/netns/../../proc/1/ns/net', '/run/netns/./c1', '/proc/1/ns/..']) {
    it(`refuses ${JSON.stringify(spec)}`, () => {
      assert.throws(() => parseNetnsRef(spec), InvalidConfigError);
    });
  }

  for (const spec of ['pid:', 'pid:0', 'pid:-1', 'pid:1x', 'pid:01']) {
    it(`refuses ${JSON.stringify(spec)}`, () => {
      assert.throws(() => parseNetnsRef(spec), /expected pid:N/);
    });
  }
});

describe('sysctlName()', () => {
  it('writes the /proc/sys path as sysctl(8) does, a dot in an interface name as a slash', () => {
    assert.equal(sysctlName('net/ipv4/ip_forward'), 'net.ipv4.ip_forward');
    assert.equal(sysctlName('net/ipv6/conf/eth0.100/accept_ra'), 'net.ipv6.conf.eth0/100.accept_ra');
  });
});
