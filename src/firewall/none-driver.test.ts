import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { NoneFirewallDriver } from './none-driver.js';
import { NAT, TCP_ANY, endpoint } from './nft/test-fixtures.js';

test('NoneFirewallDriver does nothing', async () => {
  const driver = new NoneFirewallDriver();
  assert.equal(driver.name, 'none');
  await driver.setupNetwork(NAT);
  await driver.setupPorts(endpoint(TCP_ANY));
  assert.deepEqual(await driver.checkNetwork(NAT), []);
  assert.equal(await driver.networkPresent(NAT), true);
  assert.deepEqual(await driver.checkPorts(endpoint(TCP_ANY)), []);
  await driver.teardownPorts(endpoint(TCP_ANY));
  await driver.teardownNetwork(NAT);
});
