import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { formatIp, parseIp } from '../inet/ip.js';
import type { PortRecord } from '../state/records.js';
import { boundSocketFor, type HostSocket, indexSockets, parseProcNet } from './host-probes.js';

function rec(family: 4 | 6, hostPort: number, containerPort: number, hostIp: string | null = null, protocol: 'tcp' | 'udp' = 'tcp'): PortRecord {
  return { family, protocol, hostIp: hostIp === null ? null : parseIp(hostIp), hostPort, containerPort };
}

// Captured from /proc/net on a Linux 6.x host, trimmed: listening sockets, connections and
// sockets in other states. Addresses are 32-bit words in host (little-endian) byte order.
const PROC_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21011 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18007 1 0000000000000000 100 0 0 10 0
   2: 026433C6:46A3 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 30100 1 0000000000000000 100 0 0 10 0
   3: 026433C6:1F90 016433C6:C350 01 00000000:00000000 02:000AFC5B 00000000     0        0 30412 2 0000000000000000 20 4 30 10 -1
   4: 0100007F:9C40 0100007F:0277 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
   5: 0100007F:0277 0100007F:9C41 08 00000000:00000000 00:00000000 00000000     0        0 30555 1 0000000000000000 20 4 30 10 -1
`;

const PROC_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19002 1 0000000000000000 100 0 0 10 0
   2: 000000FD000000000000000001000000:0050 000000FD000000000000000002000000:D431 01 00000000:00000000 02:00000E10 00000000     0        0 19003 2 0000000000000000 20 4 31 10 -1
   3: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19004 1 0000000000000000 100 0 0 10 0
`;

const PROC_UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  221: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 20001 2 0000000000000000 0
  300: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20002 2 0000000000000000 0
  301: 026433C6:B3F2 08080808:0035 01 00000000:00000000 00:00000000 00000000  1000        0 20003 2 0000000000000000 0
`;

const PROC_UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 21001 2 0000000000000000 0
`;

function show(sockets: readonly HostSocket[]): string[] {
  return sockets.map((s) => `${s.family}/${s.protocol} ${s.family === 6 ? `[${formatIp(s.ip)}]` : formatIp(s.ip)}:${s.port}`);
}

test('parseProcNet() reads listening TCP sockets and skips every other state', () => {
  assert.deepEqual(show(parseProcNet(PROC_TCP, 4, 'tcp')), ['4/tcp 0.0.0.0:8080', '4/tcp 127.0.0.1:631', '4/tcp 198.51.100.2:18083']);
  assert.deepEqual(show(parseProcNet(PROC_TCP6, 6, 'tcp')), ['6/tcp [::]:22', '6/tcp [::1]:8081', '6/tcp [::ffff:127.0.0.1]:8082']);
  const [first] = parseProcNet(PROC_TCP, 4, 'tcp');
  assert.deepEqual(first, { family: 4, protocol: 'tcp', ip: parseIp('0.0.0.0'), port: 8080 });
  const [, loopback6] = parseProcNet(PROC_TCP6, 6, 'tcp');
  assert.deepEqual(loopback6, { family: 6, protocol: 'tcp', ip: parseIp('::1'), port: 8081 });
});

test('parseProcNet() reads unconnected UDP sockets (state 07) and skips connected ones', () => {
  assert.deepEqual(show(parseProcNet(PROC_UDP, 4, 'udp')), ['4/udp 0.0.0.0:53', '4/udp 127.0.0.53:53']);
  assert.deepEqual(show(parseProcNet(PROC_UDP6, 6, 'udp')), ['6/udp [::]:5353']);
});

test('parseProcNet() on a table without sockets, or empty text, gives nothing', () => {
  assert.deepEqual(parseProcNet(`${PROC_TCP.split('\n')[0] ?? ''}\n`, 4, 'tcp'), []);
  assert.deepEqual(parseProcNet('', 4, 'tcp'), []);
  // The TCP LISTEN state is not UDP's "unconnected": the protocol picks the state.
  assert.deepEqual(parseProcNet(PROC_UDP, 4, 'tcp'), []);
  assert.deepEqual(parseProcNet(PROC_TCP, 4, 'udp'), []);
});

function sock(text: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): HostSocket {
  const ip = parseIp(text);
  return { family: ip.family, protocol, ip, port };
}

test('boundSocketFor(): an IPv4 wildcard socket blocks every-address and one-address mappings of its port', () => {
  const wild = sock('0.0.0.0', 18099);
  assert.equal(boundSocketFor(rec(4, 18099, 80), indexSockets([wild])), wild);
  assert.equal(boundSocketFor(rec(4, 18099, 80, '198.51.100.2'), indexSockets([wild])), wild);
  assert.equal(boundSocketFor(rec(4, 18099, 80, '127.0.0.1'), indexSockets([wild])), wild);
  // Not IPv6: a v4 socket does not take v6 connections.
  assert.equal(boundSocketFor(rec(6, 18099, 80), indexSockets([wild])), undefined);
  assert.equal(boundSocketFor(rec(6, 18099, 80, 'fd00::1'), indexSockets([wild])), undefined);
});

test('boundSocketFor(): a socket on one address blocks that address and every-address, nothing else', () => {
  const one = sock('127.0.0.1', 18099);
  assert.equal(boundSocketFor(rec(4, 18099, 80, '127.0.0.1'), indexSockets([one])), one);
  assert.equal(boundSocketFor(rec(4, 18099, 80), indexSockets([one])), one);
  assert.equal(boundSocketFor(rec(4, 18099, 80, '198.51.100.2'), indexSockets([one])), undefined);
  assert.equal(boundSocketFor(rec(6, 18099, 80), indexSockets([one])), undefined);
  const one6 = sock('fd00::1', 18099);
  assert.equal(boundSocketFor(rec(6, 18099, 80, 'fd00::1'), indexSockets([one6])), one6);
  assert.equal(boundSocketFor(rec(6, 18099, 80), indexSockets([one6])), one6);
  assert.equal(boundSocketFor(rec(6, 18099, 80, 'fd00::2'), indexSockets([one6])), undefined);
  assert.equal(boundSocketFor(rec(4, 18099, 80), indexSockets([one6])), undefined);
});

test('boundSocketFor(): an IPv6 wildcard socket blocks IPv4 too (it may take v4-mapped connections)', () => {
  const wild6 = sock('::', 18099);
  assert.equal(boundSocketFor(rec(6, 18099, 80), indexSockets([wild6])), wild6);
  assert.equal(boundSocketFor(rec(6, 18099, 80, 'fd00::1'), indexSockets([wild6])), wild6);
  assert.equal(boundSocketFor(rec(4, 18099, 80), indexSockets([wild6])), wild6);
  assert.equal(boundSocketFor(rec(4, 18099, 80, '198.51.100.2'), indexSockets([wild6])), wild6);
});

test('boundSocketFor(): another protocol or port does not collide', () => {
  const sockets = [sock('0.0.0.0', 18099), sock('::', 18099), sock('127.0.0.1', 18098, 'udp')];
  assert.equal(boundSocketFor(rec(4, 18099, 80, null, 'udp'), indexSockets(sockets)), undefined);
  assert.equal(boundSocketFor(rec(6, 18099, 80, null, 'udp'), indexSockets(sockets)), undefined);
  assert.equal(boundSocketFor(rec(4, 18098, 80), indexSockets(sockets)), undefined);
  assert.equal(boundSocketFor(rec(4, 18097, 80, null, 'udp'), indexSockets(sockets)), undefined);
  assert.equal(boundSocketFor(rec(4, 18098, 80, null, 'udp'), indexSockets(sockets)), sockets[2]);
  assert.equal(boundSocketFor(rec(4, 18099, 80), indexSockets([])), undefined);
});

test('boundSocketFor() with sockets parsed from /proc/net text', () => {
  const sockets = [...parseProcNet(PROC_TCP, 4, 'tcp'), ...parseProcNet(PROC_TCP6, 6, 'tcp'), ...parseProcNet(PROC_UDP, 4, 'udp')];
  // 0.0.0.0:8080 listens; the connection from 198.51.100.2:8080 is not a listener.
  assert.deepEqual(show([boundSocketFor(rec(4, 8080, 80, '198.51.100.2'), indexSockets(sockets))].filter((s) => s !== undefined)), ['4/tcp 0.0.0.0:8080']);
  // [::]:22 takes IPv4 too.
  assert.deepEqual(show([boundSocketFor(rec(4, 22, 22), indexSockets(sockets))].filter((s) => s !== undefined)), ['6/tcp [::]:22']);
  // 127.0.0.1:631 does not block 198.51.100.2:631; 127.0.0.53:53/udp blocks every-address 53/udp only.
  assert.equal(boundSocketFor(rec(4, 631, 631, '198.51.100.2'), indexSockets(sockets)), undefined);
  assert.equal(boundSocketFor(rec(4, 53, 53, null, 'tcp'), indexSockets(sockets)), undefined);
  assert.ok(boundSocketFor(rec(4, 53, 53, null, 'udp'), indexSockets(sockets)) !== undefined);
  // [::ffff:127.0.0.1]:8082 is an IPv6 socket that takes IPv4 connections to 127.0.0.1.
  assert.ok(boundSocketFor(rec(4, 8082, 80, '127.0.0.1'), indexSockets(sockets)) !== undefined);
  assert.ok(boundSocketFor(rec(4, 8082, 80), indexSockets(sockets)) !== undefined);
  assert.equal(boundSocketFor(rec(4, 8082, 80, '198.51.100.2'), indexSockets(sockets)), undefined);
  // Nothing listens on 18080, and a TIME_WAIT or ESTABLISHED row on a port does not count.
  assert.equal(boundSocketFor(rec(4, 18080, 80), indexSockets(sockets)), undefined);
  assert.equal(boundSocketFor(rec(4, 40000, 80), indexSockets(sockets)), undefined);
  assert.equal(boundSocketFor(rec(6, 80, 80, 'fd00::1'), indexSockets(sockets)), undefined);
});
