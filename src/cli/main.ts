/**
 * The `ctnet` command line: parse, call the library, print. The only place that sets the exit code.
 * @module
 */
import { readFileSync } from 'node:fs';
import { CommanderError } from '@commander-js/extra-typings';
import { buildProgram } from './build.js';
import { exitCodeOf, printError } from './output.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = buildProgram(pkg.version);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version end here too; commander has already printed what it had to say.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    printError(err, program.opts().json === true || process.argv.includes('--json'));
    process.exitCode = exitCodeOf(err);
  }
}
