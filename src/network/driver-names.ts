/**
 * The names of ctnet's network drivers: the one list that the CLI, the CNI config, network
 * planning and the engine's driver registry (`drivers.ts`) all read. A module of its own, with no
 * imports, so that the edges can check a name without loading any driver.
 * @module
 */

/** Every driver, in the order help texts list them. Adding a driver: its name here, its class in `drivers.ts`. */
export const DRIVER_NAMES = ['bridge', 'ptp'] as const;

export type DriverName = (typeof DRIVER_NAMES)[number];

/**
 * Whether `name` is one of {@link DRIVER_NAMES}.
 * @example
 * isDriverName('ptp'); // true
 */
export function isDriverName(name: string): name is DriverName {
  return (DRIVER_NAMES as readonly string[]).includes(name);
}

/** `bridge or ptp`, for messages. */
export function driverNamesText(): string {
  const names: readonly string[] = DRIVER_NAMES;
  return names.length === 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}`;
}
