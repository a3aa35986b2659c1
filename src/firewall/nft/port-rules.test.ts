import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { parseIp } from '../../inet/ip.js';
import type { FirewallEndpoint, PortMapping } from '../driver.js';
import { buildPortsCleanup, buildPortsSetup, buildPortsTeardown, endpointComment } from './port-rules.js';
import { pubMapName } from './table.js';
import { readTableState } from './table-state.js';
import {
  HEAD,
  LISTING_NAT_AND_PORTS,
  SHARED,
  TCP_ANY,
  UDP_ONE_IP,
  V6_ANY,
  V6_ONE_IP,
  endpoint,
  lines,
  withoutEndpoint,
} from './test-fixtures.js';

describe('buildPortsSetup()', () => {
  test('v4 on every address (tcp): the base objects, then the address and the port map', () => {
    assert.deepEqual(lines(buildPortsSetup(endpoint(TCP_ANY))), [
      ...HEAD,
      ...SHARED,
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_addr","elem":[[{"elem":{"val":{"concat":["tcp",8080]},"comment":"ctnet ep e1e2"}},"10.99.1.2"]]}}}',
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_port","elem":[[{"elem":{"val":{"concat":["tcp",8080]},"comment":"ctnet ep e1e2"}},80]]}}}',
    ]);
  });

  test('v4 on one host address (udp): the host address leads the key', () => {
    assert.deepEqual(lines(buildPortsSetup(endpoint(UDP_ONE_IP))).slice(HEAD.length + SHARED.length), [
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub4_ip_addr","elem":[[{"elem":{"val":{"concat":["192.0.2.10","udp",5353]},"comment":"ctnet ep e1e2"}},"10.99.1.2"]]}}}',
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub4_ip_port","elem":[[{"elem":{"val":{"concat":["192.0.2.10","udp",5353]},"comment":"ctnet ep e1e2"}},53]]}}}',
    ]);
  });

  test('v6 on every address and on one address', () => {
    assert.deepEqual(lines(buildPortsSetup(endpoint(V6_ANY, V6_ONE_IP))).slice(HEAD.length + SHARED.length), [
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub6_ip_addr","elem":[[{"elem":{"val":{"concat":["2001:db8::10","tcp",8443]},"comment":"ctnet ep e1e2"}},"fd00:99:1::2"]]}}}',
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub6_ip_port","elem":[[{"elem":{"val":{"concat":["2001:db8::10","tcp",8443]},"comment":"ctnet ep e1e2"}},443]]}}}',
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub6_any_addr","elem":[[{"elem":{"val":{"concat":["tcp",8080]},"comment":"ctnet ep e1e2"}},"fd00:99:1::2"]]}}}',
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub6_any_port","elem":[[{"elem":{"val":{"concat":["tcp",8080]},"comment":"ctnet ep e1e2"}},80]]}}}',
    ]);
  });

  test('one add element per map whatever the number of ports, maps in a fixed order', () => {
    const range = [8080, 8081, 8082].map((hostPort) => ({ ...TCP_ANY, hostPort, containerPort: hostPort }));
    const cmds = buildPortsSetup(endpoint(V6_ANY, ...range, UDP_ONE_IP)).slice(HEAD.length + SHARED.length);
    const names = cmds.map((c) => ('add' in c && 'element' in c.add ? c.add.element.name : '?'));
    assert.deepEqual(names, ['pub4_ip_addr', 'pub4_ip_port', 'pub4_any_addr', 'pub4_any_port', 'pub6_any_addr', 'pub6_any_port']);
    assert.equal(
      lines(cmds)[3],
      '{"add":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_port","elem":[[{"elem":{"val":{"concat":["tcp",8080]},"comment":"ctnet ep e1e2"}},8080],[{"elem":{"val":{"concat":["tcp",8081]},"comment":"ctnet ep e1e2"}},8081],[{"elem":{"val":{"concat":["tcp",8082]},"comment":"ctnet ep e1e2"}},8082]]}}}',
    );
  });

  test('without ports there is nothing to do', () => {
    assert.deepEqual(buildPortsSetup(endpoint()), []);
  });

  test('rejects bad ids, ports, protocols and addresses, and a port published twice', () => {
    const bad = (ep: FirewallEndpoint): void => {
      assert.throws(() => buildPortsSetup(ep), TypeError);
    };
    bad({ ...endpoint(TCP_ANY), id: 'E1' });
    bad({ ...endpoint(TCP_ANY), id: '' });
    bad({ ...endpoint(TCP_ANY), networkId: 'net-1' });
    bad(endpoint({ ...TCP_ANY, hostPort: 0 }));
    bad(endpoint({ ...TCP_ANY, hostPort: 65536 }));
    bad(endpoint({ ...TCP_ANY, containerPort: 80.5 }));
    bad(endpoint({ ...TCP_ANY, protocol: 'sctp' as PortMapping['protocol'] }));
    bad(endpoint({ ...TCP_ANY, family: 5 as PortMapping['family'] }));
    bad(endpoint({ ...TCP_ANY, containerIp: parseIp('fd00:99:1::2') }));
    bad(endpoint({ ...TCP_ANY, hostIp: parseIp('2001:db8::10') }));
    // JavaScript callers are not held to the type: text where a parsed address belongs.
    bad(endpoint({ ...TCP_ANY, containerIp: '10.99.1.2; drop' as unknown as PortMapping['containerIp'] }));
    bad(endpoint({ ...V6_ANY, hostIp: 'fe80::1%eth0' as unknown as PortMapping['containerIp'] }));
    bad(endpoint(TCP_ANY, { ...TCP_ANY, containerPort: 81 }));
    // The same port on every address and on one address, or for the other protocol, is fine.
    assert.doesNotThrow(() => buildPortsSetup(endpoint(TCP_ANY, { ...TCP_ANY, hostIp: parseIp('192.0.2.10') }, { ...TCP_ANY, protocol: 'udp' })));
  });
});

describe('buildPortsTeardown()', () => {
  test('deletes exactly the given keys from both maps of each kind', () => {
    assert.deepEqual(lines(buildPortsTeardown(endpoint(TCP_ANY, UDP_ONE_IP, V6_ANY))), [
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_ip_addr","elem":[{"concat":["192.0.2.10","udp",5353]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_ip_port","elem":[{"concat":["192.0.2.10","udp",5353]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_addr","elem":[{"concat":["tcp",8080]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_port","elem":[{"concat":["tcp",8080]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub6_any_addr","elem":[{"concat":["tcp",8080]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub6_any_port","elem":[{"concat":["tcp",8080]}]}}}',
    ]);
  });

  test('deletes a mapping given twice once (a second delete of a key would fail)', () => {
    assert.deepEqual(lines(buildPortsTeardown(endpoint(TCP_ANY, TCP_ANY))), [
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_addr","elem":[{"concat":["tcp",8080]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_port","elem":[{"concat":["tcp",8080]}]}}}',
    ]);
  });

  test('is empty without ports and rejects a bad id', () => {
    assert.deepEqual(buildPortsTeardown(endpoint()), []);
    assert.throws(() => buildPortsTeardown({ ...endpoint(TCP_ANY), id: 'x' }), TypeError);
  });
});

describe('published ports in the table state', () => {
  const state = readTableState(LISTING_NAT_AND_PORTS);

  test('buildPortsCleanup() deletes every element of the endpoint, and no other', () => {
    assert.deepEqual(lines(buildPortsCleanup(endpoint(), state)), [
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_ip_addr","elem":[{"concat":["192.0.2.10","udp",5353]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_ip_port","elem":[{"concat":["192.0.2.10","udp",5353]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_addr","elem":[{"concat":["tcp",8080]}]}}}',
      '{"delete":{"element":{"family":"inet","table":"ctnet","name":"pub4_any_port","elem":[{"concat":["tcp",8080]}]}}}',
    ]);
  });

  test('buildPortsCleanup() is empty when nothing of the endpoint is left, or there is no table', () => {
    assert.deepEqual(buildPortsCleanup(endpoint(), withoutEndpoint(state, 'e1e2')), []);
    assert.deepEqual(buildPortsCleanup(endpoint(), undefined), []);
  });

  test('pubMapName() and endpointComment()', () => {
    assert.equal(pubMapName(6, 'ip', 'port'), 'pub6_ip_port');
    assert.equal(endpointComment('e1e2'), 'ctnet ep e1e2');
  });
});
