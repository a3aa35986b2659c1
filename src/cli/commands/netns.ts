/** `ctnet netns add|del|ls` and `ctnet exec NETNS -- CMD...`. @module */
import { printJson, printTable } from '../output.js';
import { loadLibrary, type Program, withEngine } from '../program.js';

export function register(program: Program): void {
  const netns = program.command('netns').description('manage named network namespaces (shared with ip netns)');
  netns
    .command('add')
    .description('create a named network namespace')
    .argument('<name>')
    .action(async (name) => { (await loadLibrary()).createNamedNetns(name); });
  netns
    .command('del')
    .alias('rm')
    .description('delete a named network namespace (refused while it is connected)')
    .argument('<name>')
    .option('--force', 'disconnect it from every network first')
    .action(async (name, opts, cmd) => {
      await withEngine(cmd.optsWithGlobals(), (ct) => ct.deleteNetns(name, { force: opts.force === true }));
    });
  netns
    .command('ls')
    .alias('list')
    .description('list named network namespaces')
    .action(async (_opts, cmd) => {
      const names = (await loadLibrary()).listNamedNetns();
      if (cmd.optsWithGlobals().json === true) printJson(names);
      else if (names.length > 0) printTable(['NAME'], names.map((n) => [n]));
    });
  program
    .command('exec')
    .description('run a command inside a network namespace')
    .argument('<netns>', 'named netns, netns path or pid:N')
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(async (spec, command) => {
      const lib = await loadLibrary();
      lib.execInNetns(lib.Netns.open(lib.parseNetnsRef(spec)), command);
    });
}
