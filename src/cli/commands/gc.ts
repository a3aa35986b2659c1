/** `ctnet gc [--dry-run]`. @module */
import { TeardownError } from '../../errors.js';
import { describeGcReport } from '../../network/gc-report.js';
import { printJson } from '../output.js';
import { type Program, withEngine } from '../program.js';

export function register(program: Program): void {
  program
    .command('gc')
    .description('release what crashed changes and vanished containers left behind, and remove what no record owns')
    .option('--dry-run', 'only list what would be done')
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals();
      const report = await withEngine(g, (ct) => ct.gc({ dryRun: opts.dryRun === true }));
      if (g.json === true) printJson(report);
      else process.stdout.write(`${describeGcReport(report).join('\n')}\n`);
      const failed = report.actions.filter((a) => a.error !== undefined);
      if (failed.length > 0) throw TeardownError.summarize(`gc: ${failed.length} of ${report.actions.length} action(s) failed`, failed.map((a) => `${a.subject}: ${a.error ?? ''}`));
    });
}
