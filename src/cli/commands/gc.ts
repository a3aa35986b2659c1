/** `ctnet gc [--dry-run]`. @module */
import { TeardownError } from '../../errors.js';
import type { GcAction, GcActionKind, GcReport } from '../../index.js';
import { printJson } from '../output.js';
import { type Program, withEngine } from '../program.js';

/** How each action reads: done, and to be done. */
const VERBS: Readonly<Record<GcActionKind, readonly [done: string, todo: string]>> = {
  'release-endpoint': ['released', 'release'],
  'remove-endpoint': ['removed', 'remove'],
  'complete-network': ['completed', 'complete'],
  'remove-network': ['finished removing', 'finish removing'],
  'remove-link': ['removed', 'remove'],
  'remove-firewall': ['removed', 'remove'],
};

/** The report as people read it: one line per action, failures and what was left alone included. */
export function formatGcReport(report: GcReport): string[] {
  const line = (a: GcAction): string => {
    const [done, todo] = VERBS[a.kind];
    if (report.dryRun) return `would ${todo} ${a.subject}: ${a.reason}`;
    return a.error === undefined ? `${done} ${a.subject}: ${a.reason}` : `failed to ${todo} ${a.subject}: ${a.error}`;
  };
  const lines = [...report.actions.map(line), ...report.inProgress.map((a) => `left ${a.subject} alone: a live process is working on it`)];
  return lines.length > 0 ? lines : ['nothing to collect'];
}

export function register(program: Program): void {
  program
    .command('gc')
    .description('release what crashed changes and vanished containers left behind, and remove what no record owns')
    .option('--dry-run', 'only list what would be done')
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals();
      const report = await withEngine(g, (ct) => ct.gc({ dryRun: opts.dryRun === true }));
      if (g.json === true) printJson(report);
      else process.stdout.write(`${formatGcReport(report).join('\n')}\n`);
      const failed = report.actions.filter((a) => a.error !== undefined);
      if (failed.length > 0) throw TeardownError.summarize(`gc: ${failed.length} of ${report.actions.length} action(s) failed`, failed.map((a) => `${a.subject}: ${a.error ?? ''}`));
    });
}
