/**
 * `node hwm-wrapper.js SCRIPT ARG...`: runs SCRIPT (an ES module, e.g. bin/ctnet.js) with ARG... as
 * its command line and prints `VmHWM <KiB>` to stderr when the process exits. The fallback for peak
 * RSS where GNU time is not installed.
 * @module
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [script = '', ...args] = process.argv.slice(2);
process.argv = [process.argv[0] ?? 'node', script, ...args];
process.on('exit', () => {
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 'NaN';
  process.stderr.write(`VmHWM ${hwm}\n`);
});
await import(pathToFileURL(script).href);
