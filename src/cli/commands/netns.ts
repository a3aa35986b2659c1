/** `ctnet netns add|del|ls` and `ctnet exec NETNS -- CMD...`. @module */
import { createNamedNetns, deleteNamedNetns, execInNetns, listNamedNetns, Netns, parseNetnsRef } from '../../netns/netns.js';
import { printJson, printTable } from '../output.js';
import type { Program } from '../program.js';

export function register(program: Program): void {
  const netns = program.command('netns').description('manage named network namespaces (shared with ip netns)');
  netns
    .command('add')
    .description('create a named network namespace')
    .argument('<name>')
    .action((name) => createNamedNetns(name));
  netns
    .command('del')
    .alias('rm')
    .description('delete a named network namespace')
    .argument('<name>')
    .action((name) => deleteNamedNetns(name));
  netns
    .command('ls')
    .alias('list')
    .description('list named network namespaces')
    .action((_opts, cmd) => {
      const names = listNamedNetns();
      if (cmd.optsWithGlobals().json === true) printJson(names);
      else if (names.length > 0) printTable(['NAME'], names.map((n) => [n]));
    });
  program
    .command('exec')
    .description('run a command inside a network namespace')
    .argument('<netns>', 'named netns, netns path or pid:N')
    .argument('<command...>', 'the command and its arguments (after --)')
    .action((spec, command) => {
      execInNetns(Netns.open(parseNetnsRef(spec)), command);
    });
}
