/**
 * How messages quote a value a caller gave: its JSON, or its type where JSON has none.
 * @module
 */

/**
 * A value as error messages quote it.
 * @example
 * describeValue({ hostPort: 'x' }); // '{"hostPort":"x"}'
 * describeValue(undefined); // 'undefined'
 */
export function describeValue(value: unknown): string {
  return stringify(value) ?? typeof value;
}

/** JSON.stringify as it behaves: undefined for undefined, functions and symbols, whatever lib.d.ts says. */
const stringify: (value: unknown) => string | undefined = JSON.stringify;
