import { describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ConflictError, InvalidConfigError, IpamExhaustedError, NotFoundError, StateError, TimeoutError } from '../errors.js';
import type { PublishedPort } from '../index.js';
import { expandPorts, parsePortSpec } from '../network/ports.js';
import { publishedPorts } from '../network/views.js';
import { exitCodeOf, formatPorts, formatTable, hostChangeNotice } from './output.js';

function rec(family: 4 | 6, hostPort: number, containerPort: number, hostIp: string | null = null, protocol: 'tcp' | 'udp' = 'tcp'): PublishedPort {
  return { family, protocol, hostIp, hostPort, containerPort };
}

/** What `ctnet ls` shows for `-p` values given on a network with these families. */
function shown(families: ReadonlyArray<4 | 6>, ...specs: string[]): string {
  return formatPorts(publishedPorts(expandPorts(specs.map(parsePortSpec), new Set(families))));
}

test('formatPorts() shows nothing for no ports', () => {
  assert.equal(formatPorts([]), '');
});

test('formatPorts() shows one port with its host address, every address as 0.0.0.0 or [::]', () => {
  assert.equal(formatPorts([rec(4, 8080, 80)]), '0.0.0.0:8080->80/tcp');
  assert.equal(formatPorts([rec(6, 8080, 80)]), '[::]:8080->80/tcp');
  assert.equal(formatPorts([rec(4, 8080, 80, '127.0.0.1', 'udp')]), '127.0.0.1:8080->80/udp');
  assert.equal(formatPorts([rec(6, 8080, 80, 'fd00::1')]), '[fd00::1]:8080->80/tcp');
});

test('formatPorts() folds consecutive ports into ranges', () => {
  assert.equal(formatPorts([rec(4, 8000, 9000), rec(4, 8001, 9001), rec(4, 8002, 9002)]), '0.0.0.0:8000-8002->9000-9002/tcp');
  assert.equal(shown([4], '18090-18092:80-82'), '0.0.0.0:18090-18092->80-82/tcp');
  assert.equal(shown([6], '[fd00::1]:8000-8001:80-81/udp'), '[fd00::1]:8000-8001->80-81/udp');
});

test('formatPorts() does not fold what is not one range', () => {
  // Host ports consecutive, container ports not.
  assert.equal(formatPorts([rec(4, 8080, 80), rec(4, 8081, 443)]), '0.0.0.0:8080->80/tcp, 0.0.0.0:8081->443/tcp');
  // Container ports consecutive, host ports not.
  assert.equal(formatPorts([rec(4, 8080, 80), rec(4, 9090, 81)]), '0.0.0.0:8080->80/tcp, 0.0.0.0:9090->81/tcp');
  // Same numbers, different protocol, address or family.
  assert.equal(formatPorts([rec(4, 8080, 80), rec(4, 8081, 81, null, 'udp')]), '0.0.0.0:8080->80/tcp, 0.0.0.0:8081->81/udp');
  assert.equal(formatPorts([rec(4, 8080, 80), rec(4, 8081, 81, '127.0.0.1')]), '0.0.0.0:8080->80/tcp, 127.0.0.1:8081->81/tcp');
  assert.equal(formatPorts([rec(4, 8080, 80), rec(6, 8081, 81)]), '0.0.0.0:8080->80/tcp, [::]:8081->81/tcp');
  // Two ports the same distance apart on both sides, but not next to each other.
  assert.equal(formatPorts([rec(4, 8080, 80), rec(4, 8082, 82)]), '0.0.0.0:8080->80/tcp, 0.0.0.0:8082->82/tcp');
});

test('formatPorts() on a dual-stack network and on mixed mappings', () => {
  assert.equal(shown([4, 6], '8080-8081:80-81'), '0.0.0.0:8080-8081->80-81/tcp, [::]:8080-8081->80-81/tcp');
  // IPv4 first, every address before one address; mappings that continue each other read as one
  // range, on a dual-stack network too (where their records alternate families).
  assert.equal(
    shown([4, 6], '8080:80', '8081:81', '127.0.0.1:9000-9001:90-91/udp', '[fd00::1]:53:53/udp'),
    '0.0.0.0:8080-8081->80-81/tcp, 127.0.0.1:9000-9001->90-91/udp, [::]:8080-8081->80-81/tcp, [fd00::1]:53->53/udp',
  );
  assert.equal(shown([4], '8080:80', '8081:81'), '0.0.0.0:8080-8081->80-81/tcp');
  // The order the ports were given in does not matter.
  assert.equal(formatPorts([rec(4, 8081, 81), rec(6, 8080, 80), rec(4, 8080, 80)]), '0.0.0.0:8080-8081->80-81/tcp, [::]:8080->80/tcp');
  assert.equal(shown([4], '8082:82', '8080-8081:80-81', '53:53/udp'), '0.0.0.0:8080-8082->80-82/tcp, 0.0.0.0:53->53/udp');
});

test('formatTable() pads every column but the last', () => {
  assert.equal(formatTable(['A', 'BB', 'C'], [['xyz', 'y', 'last'], ['1', '22222', '']]), ['A     BB      C', 'xyz   y       last', '1     22222'].join('\n'));
  assert.equal(formatTable(['NAME'], []), 'NAME');
});

test('exitCodeOf(): 2 for a refusal that changed nothing, 1 for a change that failed', () => {
  assert.equal(exitCodeOf(new InvalidConfigError('bad')), 2);
  assert.equal(exitCodeOf(new ConflictError('taken')), 2);
  assert.equal(exitCodeOf(new NotFoundError('gone')), 2);
  assert.equal(exitCodeOf(new IpamExhaustedError('full')), 2);
  assert.equal(exitCodeOf(new TimeoutError('locked')), 1);
  assert.equal(exitCodeOf(new StateError('broken')), 1);
  assert.equal(exitCodeOf(new Error('boom')), 1);
  assert.equal(exitCodeOf('text'), 1);
});

describe('hostChangeNotice()', () => {
  test('says what was added or removed where, and why', () => {
    assert.equal(
      hostChangeNotice({ action: 'add', firewall: 'nftables', chain: 'ip filter FORWARD', rules: 2, why: 'it drops forwarded packets by default' }),
      'added 2 accept rules to chain ip filter FORWARD (nftables): it drops forwarded packets by default',
    );
    assert.equal(
      hostChangeNotice({ action: 'remove', firewall: 'iptables-legacy', chain: 'filter FORWARD', rules: 1, why: 'network "n" is removed' }),
      'removed 1 accept rule from chain filter FORWARD (iptables-legacy): network "n" is removed',
    );
  });
});
