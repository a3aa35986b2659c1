import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseCidr, parseIpWithPrefix } from '../inet/cidr.js';
import { parseIp } from '../inet/ip.js';
import type { EndpointRecord, NetworkRecord } from '../state/records.js';
import { attachedView, endpointView, networkView } from './views.js';

const NET: NetworkRecord = {
  id: 'a1b2',
  name: 'net1',
  driver: 'bridge',
  bridge: 'ct-net1',
  mtu: 1500,
  nat: true,
  internal: false,
  subnets: [
    { subnet: parseCidr('10.68.0.0/24'), gateway: parseIp('10.68.0.1') },
    { subnet: parseCidr('fd00:68::/64'), gateway: parseIp('fd00:68::1') },
  ],
  status: 'ready',
  created: '2024-05-01T10:00:00.000Z',
};

const EP: EndpointRecord = {
  id: 'c3d4',
  networkId: 'a1b2',
  container: 'c1',
  netns: '/run/netns/c1',
  netnsId: '4:4026532281',
  ifname: 'eth0',
  hostIfname: 'ctc3d4',
  mac: '02:42:0a:44:00:02',
  addresses: [parseIpWithPrefix('10.68.0.2/24'), parseIpWithPrefix('fd00:68::2/64')],
  ports: [{ family: 4, protocol: 'tcp', hostIp: parseIp('127.0.0.1'), hostPort: 8080, containerPort: 80 }, { family: 6, protocol: 'tcp', hostIp: null, hostPort: 8080, containerPort: 80 }],
  owner: 'cli',
  status: 'ready',
  created: '2024-05-01T10:00:01.000Z',
};

test('networkView() and endpointView() give text, in the key order the CLI prints as JSON', () => {
  assert.equal(
    JSON.stringify(networkView(NET)),
    '{"id":"a1b2","name":"net1","driver":"bridge","bridge":"ct-net1","mtu":1500,"nat":true,"internal":false,' +
      '"subnets":[{"subnet":"10.68.0.0/24","gateway":"10.68.0.1"},{"subnet":"fd00:68::/64","gateway":"fd00:68::1"}],"status":"ready","created":"2024-05-01T10:00:00.000Z"}',
  );
  assert.equal(
    JSON.stringify(endpointView(EP, NET)),
    '{"id":"c3d4","network":"net1","container":"c1","netns":"/run/netns/c1","netnsId":"4:4026532281","ifname":"eth0","hostIfname":"ctc3d4",' +
      '"mac":"02:42:0a:44:00:02","addresses":["10.68.0.2/24","fd00:68::2/64"],"gateways":["10.68.0.1","fd00:68::1"],' +
      '"ports":[{"family":4,"protocol":"tcp","hostIp":"127.0.0.1","hostPort":8080,"containerPort":80},{"family":6,"protocol":"tcp","hostIp":null,"hostPort":8080,"containerPort":80}],' +
      '"owner":"cli","status":"ready","created":"2024-05-01T10:00:01.000Z"}',
  );
});

test('attachedView() adds the routes as CNI reports them', () => {
  const routes = [
    { dst: parseCidr('0.0.0.0/0'), gateway: parseIp('10.68.0.1') },
    { dst: parseCidr('::/0'), gateway: parseIp('fd00:68::1') },
    { dst: parseCidr('10.69.0.0/24'), gateway: parseIp('10.69.0.1') },
  ];
  assert.deepEqual(attachedView(endpointView(EP, NET), routes).routes, [
    { dst: '0.0.0.0/0', gateway: '10.68.0.1' },
    { dst: '::/0', gateway: 'fd00:68::1' },
    { dst: '10.69.0.0/24', gateway: '10.69.0.1' },
  ]);
});
