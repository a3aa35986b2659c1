/**
 * Published ports as text: how every message and listing writes the host address and a port range.
 * @module
 */

/**
 * A host address as it stands before `:PORT`: an IPv6 address in brackets, so that its own colons
 * read apart from the port's.
 * @example
 * ```ts
 * formatHostIp('fd00::1'); // '[fd00::1]'
 * ```
 */
export function formatHostIp(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

/**
 * Where a port is published: its host address, or `0.0.0.0` / `[::]` for every address of the
 * family (`null` or absent), as Docker writes them.
 * @example
 * ```ts
 * formatPortHost(6, null); // '[::]'
 * ```
 */
export function formatPortHost(family: 4 | 6, hostIp?: string | null): string {
  return formatHostIp(hostIp ?? (family === 4 ? '0.0.0.0' : '::'));
}

/**
 * A port, or a range when an end is given (even one equal to the start: the text keeps what the
 * caller wrote).
 * @example
 * ```ts
 * formatPortRange(8080, 8081); // '8080-8081'
 * ```
 */
export function formatPortRange(start: number, end?: number): string {
  return end === undefined ? String(start) : `${start}-${end}`;
}
