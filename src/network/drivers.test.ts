import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { StateError } from '../errors.js';
import { DRIVER_NAMES, driverNamesText, isDriverName } from './driver-names.js';
import { DriverRegistry } from './drivers.js';

test('DriverRegistry has a driver for every name, and none for others', () => {
  const registry = new DriverRegistry();
  for (const driver of DRIVER_NAMES) assert.ok(registry.of({ name: 'n', driver }));
  assert.throws(() => registry.of({ name: 'n', driver: 'macvlan' }), (err: unknown) => err instanceof StateError && /network "n" has driver "macvlan", which this version of ctnet does not have/.test(err.message));
  assert.throws(() => registry.of({ name: 'n', driver: 'toString' }), StateError);
});

test('isDriverName() and driverNamesText()', () => {
  assert.equal(isDriverName('bridge'), true);
  assert.equal(isDriverName('Bridge'), false);
  assert.equal(driverNamesText(), 'bridge or ptp');
});
