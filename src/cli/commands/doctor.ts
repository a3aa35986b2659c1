/** `ctnet doctor [--json]`: what on the host can break ctnet's networks. @module */
import type { DoctorCheck } from '../../index.js';
// errors.js is the library's error module (re-exported by index.js), light enough to load at start-up.
import { HostError } from '../../errors.js';
import { printJson } from '../output.js';
import { loadLibrary, type Program } from '../program.js';

const STATUS_TEXT: Readonly<Record<DoctorCheck['status'], string>> = { ok: 'ok', warn: 'warn', fail: 'FAIL' };

/** One line per check: status, name, what was found and, for warn and FAIL, how to fix it. */
export function formatChecks(checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks
    .map((c) => `${STATUS_TEXT[c.status].padEnd(4)}  ${c.name.padEnd(width)}  ${c.message}${c.fix === undefined ? '' : `; fix: ${c.fix}`}`)
    .join('\n');
}

export function register(program: Program): void {
  program
    .command('doctor')
    .description('check what on this host can break ctnet networks (exit 1 when a check fails)')
    .action(async (_opts, cmd) => {
      // As another user every check that matters fails for want of permission, and says nothing about the host.
      if (process.geteuid?.() !== 0) throw new HostError('ctnet doctor must run as root: the state database, nftables and netlink it reads are root\'s');
      const g = cmd.optsWithGlobals();
      const { runDoctor } = await loadLibrary();
      const report = await runDoctor(g.stateDir === undefined ? {} : { stateDir: g.stateDir });
      if (g.json === true) printJson(report);
      else process.stdout.write(`${formatChecks(report.checks)}\n`);
      const failed = report.checks.filter((c) => c.status === 'fail');
      // main.ts turns the error into exit status 1, after the report is out.
      if (failed.length > 0) throw new HostError(`${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => c.name).join(', ')}`);
    });
}
