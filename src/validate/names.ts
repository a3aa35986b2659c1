/**
 * Checks for the names users give to interfaces, networks and network namespaces, done before
 * anything is created so that a bad name fails with a clear message instead of a bare `EINVAL`.
 * @module
 */
import { InvalidConfigError } from '../errors.js';

/** IFNAMSIZ is 16 in the kernel headers and includes the terminating NUL. */
const IFNAME_MAX_BYTES = 15;
/** NAME_MAX: the longest file name, which a netns name becomes under /run/netns. */
const NETNS_NAME_MAX_BYTES = 255;
const NETWORK_NAME_MAX_LENGTH = 64;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Bytes the kernel's `isspace()` matches: `\t \n \v \f \r`, space, and 0xa0 (no-break space in
 * Latin-1; lib/ctype.c marks it as space). The kernel checks bytes, not characters, so 0xa0 is
 * refused inside UTF-8 sequences too, for example in "à" (c3 a0).
 */
const KERNEL_SPACE_BYTES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);

function fail(what: string, name: string, reason: string): never {
  throw new InvalidConfigError(`invalid ${what} ${JSON.stringify(name)}: ${reason}`);
}

/**
 * The name, encoded as the kernel will see it. A JS string with a lone surrogate has no UTF-8
 * form; the encoder would put U+FFFD there and the kernel would get another name than the one
 * checked.
 */
function utf8(what: string, name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.toString('utf8') !== name) fail(what, name, 'not valid Unicode text');
  return bytes;
}

/**
 * Check a network interface name against the kernel's `dev_valid_name()` rules: 1 to 15 bytes of
 * UTF-8, not `.` or `..`, and no `/`, `:`, whitespace or NUL. `/` and `.` would break the
 * /sys/class/net/<name> path, `:` is iproute2's address label separator.
 *
 * @param name The interface name.
 * @param what What the name is, for the message (`'bridge name'`, `'container interface name'`).
 * @throws {InvalidConfigError} For example
 * `invalid interface name "a-very-long-name-x": longer than 15 bytes`.
 * @example
 * ```ts
 * validateIfName('eth0');                     // passes
 * validateIfName('br:0', 'bridge name'); // throws: invalid bridge name "br:0": must not contain ":"
 * ```
 */
export function validateIfName(name: string, what = 'interface name'): void {
  if (name === '') fail(what, name, 'must not be empty');
  const bytes = utf8(what, name);
  if (bytes.length > IFNAME_MAX_BYTES) fail(what, name, `longer than ${IFNAME_MAX_BYTES} bytes`);
  if (name === '.' || name === '..') fail(what, name, 'must not be "." or ".."');
  for (const byte of bytes) {
    if (byte === 0x00) fail(what, name, 'must not contain a NUL character');
    if (byte === 0x2f) fail(what, name, 'must not contain "/"');
    if (byte === 0x3a) fail(what, name, 'must not contain ":"');
    if (KERNEL_SPACE_BYTES.has(byte)) fail(what, name, 'must not contain whitespace');
  }
}

/**
 * Check a ctnet network name: a letter or digit, then letters, digits, `_`, `.` or `-`; at most
 * 64 characters. The name ends up in file names, nft comments and CLI output, so it stays ASCII.
 *
 * @throws {InvalidConfigError} For example `invalid network name "-net": must start with a letter
 * or digit and contain only letters, digits, "_", "." and "-"`.
 * @example
 * ```ts
 * validateNetworkName('backend.v2'); // passes
 * ```
 */
export function validateNetworkName(name: string): void {
  const what = 'network name';
  if (name === '') fail(what, name, 'must not be empty');
  if (name.length > NETWORK_NAME_MAX_LENGTH) fail(what, name, `longer than ${NETWORK_NAME_MAX_LENGTH} characters`);
  if (!NETWORK_NAME.test(name)) {
    fail(what, name, 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"');
  }
}

/** Any Unicode whitespace (tab, newline, no-break and ideographic spaces, ...) or control character (NUL, DEL, C1). */
const SPACE_OR_CONTROL = /[\p{White_Space}\p{Cc}]/u;

/** `U+000A` for "\n". */
function codePoint(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Check a named network namespace. The name becomes a file under /run/netns, so it follows the
 * rules of `ip netns add`: not empty, at most 255 bytes, not `.` or `..`, no `/`. It is also
 * printed in listings and handed to ip and other tools as one argument, so it must not contain
 * whitespace or control characters (newline, tab, NUL, DEL, any Unicode space) and must not start
 * with `-`, which those tools would read as an option.
 *
 * @throws {InvalidConfigError} For example `invalid network namespace name "a/b": must not contain "/"`.
 * @example
 * ```ts
 * validateNetnsName('ctr-1234'); // passes
 * validateNetnsName('-rf');      // throws: invalid network namespace name "-rf": must not start with "-" ...
 * ```
 */
export function validateNetnsName(name: string): void {
  const what = 'network namespace name';
  if (name === '') fail(what, name, 'must not be empty');
  const bytes = utf8(what, name);
  if (bytes.length > NETNS_NAME_MAX_BYTES) fail(what, name, `longer than ${NETNS_NAME_MAX_BYTES} bytes`);
  if (name === '.' || name === '..') fail(what, name, 'must not be "." or ".."');
  if (name.startsWith('-')) fail(what, name, 'must not start with "-", which ip and other tools would read as an option');
  if (name.includes('/')) fail(what, name, 'must not contain "/"');
  const bad = SPACE_OR_CONTROL.exec(name);
  if (bad !== null) fail(what, name, `must not contain whitespace or control characters, found ${codePoint(bad[0])}`);
}
