/**
 * The driver registry: each driver name with the class that makes its networks real. The engine
 * looks every network's driver up here; a record naming a driver this build does not have fails
 * with a clear error instead of a crash.
 * @module
 */
import { StateError } from '../errors.js';
import { BridgeDriver } from './bridge-driver.js';
import type { DriverName } from './driver-names.js';
import type { NetworkDriver } from './driver.js';
import { PtpDriver } from './ptp-driver.js';

/** One instance of every driver, by name. */
export class DriverRegistry {
  readonly #drivers: Readonly<Record<DriverName, NetworkDriver>> = { bridge: new BridgeDriver(), ptp: new PtpDriver() };

  /**
   * The driver of a network.
   * @throws {StateError} for a driver name this build of ctnet does not know (a newer one wrote it)
   */
  of(net: { name: string; driver: string }): NetworkDriver {
    const driver = Object.hasOwn(this.#drivers, net.driver) ? this.#drivers[net.driver as DriverName] : undefined;
    if (driver === undefined) throw new StateError(`network "${net.name}" has driver "${net.driver}", which this version of ctnet does not have`);
    return driver;
  }
}
