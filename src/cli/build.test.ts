import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CommanderError } from '@commander-js/extra-typings';
import { InvalidConfigError } from '../errors.js';
import { validateNetnsName } from '../validate/names.js';
import { buildProgram } from './build.js';

/** What an action would have been called with; the action itself never runs. */
interface Parsed {
  command: string;
  args: readonly unknown[];
  opts: Record<string, unknown>;
}

class Captured extends Error {
  constructor(readonly parsed: Parsed) {
    super('captured');
  }
}

function quietProgram() {
  const program = buildProgram('9.9.9');
  const silence = (cmd: { configureOutput(o: object): unknown; commands: readonly { configureOutput(o: object): unknown; commands: readonly never[] }[] }): void => {
    cmd.configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
    for (const sub of cmd.commands) silence(sub);
  };
  silence(program as never);
  program.hook('preAction', (_top, action) => {
    const path: string[] = [];
    for (let c: typeof action | null = action; c !== null && c.parent !== null; c = c.parent as typeof action | null) path.unshift(c.name());
    throw new Captured({ command: path.join(' '), args: action.processedArgs, opts: action.optsWithGlobals() });
  });
  return program;
}

async function parse(argv: readonly string[]): Promise<Parsed> {
  try {
    await quietProgram().parseAsync(['node', 'ctnet', ...argv]);
  } catch (err) {
    if (err instanceof Captured) return err.parsed;
    throw err;
  }
  throw new Error('no action was reached');
}

async function usageError(argv: readonly string[]): Promise<CommanderError> {
  try {
    await parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err;
    throw err;
  }
  throw new Error(`"${argv.join(' ')}" parsed without an error`);
}

describe('ctnet command line parsing', () => {
  it('network create collects repeated subnets and the flags', async () => {
    const p = await parse(['network', 'create', 'n1', '--subnet', '10.1.0.0/24', '--subnet', 'fd00::/64', '--mtu', '1400', '--driver', 'ptp', '--no-nat']);
    assert.equal(p.command, 'network create');
    assert.deepEqual(p.args, ['n1']);
    assert.deepEqual(p.opts['subnet'], ['10.1.0.0/24', 'fd00::/64']);
    assert.equal(p.opts['mtu'], 1400);
    assert.equal(p.opts['driver'], 'ptp');
    assert.equal(p.opts['nat'], false);
  });

  it('defaults: bridge driver, nat on, not internal', async () => {
    const p = await parse(['network', 'create', 'n1', '--subnet', '10.1.0.0/24']);
    assert.equal(p.opts['driver'], 'bridge');
    assert.equal(p.opts['nat'], true);
    assert.equal(p.opts['internal'], undefined);
  });

  it('connect collects --ip and -p, and keeps -p text for the library to parse', async () => {
    const p = await parse(['connect', 'n1', 'pid:42', '--ip', '10.1.0.5', '-p', '8080:80', '--publish', '127.0.0.1:53:53/udp', '--ifname', 'eth3', '--mac', '02:00:00:00:00:01']);
    assert.equal(p.command, 'connect');
    assert.deepEqual(p.args, ['n1', 'pid:42']);
    assert.deepEqual(p.opts['ip'], ['10.1.0.5']);
    assert.deepEqual(p.opts['publish'], ['8080:80', '127.0.0.1:53:53/udp']);
    assert.equal(p.opts['ifname'], 'eth3');
  });

  it('global flags are accepted before and after the subcommand', async () => {
    for (const argv of [['--json', '--state-dir', '/tmp/s', 'network', 'ls'], ['network', 'ls', '--json', '--state-dir', '/tmp/s']]) {
      const p = await parse(argv);
      assert.equal(p.command, 'network ls');
      assert.equal(p.opts['json'], true);
      assert.equal(p.opts['stateDir'], '/tmp/s');
    }
  });

  it('exec takes the command after --, options included', async () => {
    const p = await parse(['exec', 'net1', '--', 'ip', '-j', 'link']);
    assert.deepEqual(p.args, ['net1', ['ip', '-j', 'link']]);
  });

  it('refuses bad usage before any action runs', async () => {
    const cases: [argv: string[], code: string][] = [
      [['network', 'create', 'n1'], 'commander.missingMandatoryOptionValue'],
      [['network', 'create', 'n1', '--subnet', '10.1.0.0/24', '--mtu', 'big'], 'commander.invalidArgument'],
      [['network', 'create', 'n1', '--subnet', '10.1.0.0/24', '--driver', 'vxlan'], 'commander.invalidArgument'],
      [['connect', 'n1'], 'commander.missingArgument'],
      [['network', 'frobnicate'], 'commander.unknownCommand'],
      [['ls', '--bogus'], 'commander.unknownOption'],
    ];
    for (const [argv, code] of cases) {
      const err = await usageError(argv);
      assert.equal(err.code, code, argv.join(' '));
      assert.notEqual(err.exitCode, 0);
    }
  });

  it('--help and -h anywhere after a command show its help and end without an action', async () => {
    const cases = [
      ['netns', 'add', '--help'],
      ['netns', 'add', '-h'],
      ['netns', 'add', 'net1', '--help'],
      ['netns', 'del', '--help'],
      ['exec', '--help'],
      ['exec', 'net1', '--help'],
      ['connect', 'net1', '--help'],
    ];
    for (const argv of cases) {
      const err = await usageError(argv);
      assert.equal(err.code, 'commander.helpDisplayed', argv.join(' '));
      assert.equal(err.exitCode, 0, argv.join(' '));
    }
  });

  it('an option-like word that is no option is a usage error, not an operand', async () => {
    const cases = [
      ['netns', 'add', '-rf'],
      ['netns', 'add', 'net1', '-rf'],
      ['netns', 'del', '-rf'],
      ['exec', '-rf', '--', 'true'],
      ['connect', '-rf', 'net1'],
      ['connect', 'net1', 'ctr1', '-rf'],
    ];
    for (const argv of cases) {
      const err = await usageError(argv);
      assert.equal(err.code, 'commander.unknownOption', argv.join(' '));
      assert.equal(err.message, "error: unknown option '-rf'");
      assert.notEqual(err.exitCode, 0);
    }
  });

  it('operands after --, "-" and negative numbers reach the action, where the name check refuses them', async () => {
    const cases: [argv: string[], name: string][] = [
      [['netns', 'add', '--', '-rf'], '-rf'],
      [['netns', 'add', '--', '--help'], '--help'],
      [['netns', 'del', '--', '-rf'], '-rf'],
      // commander reads a negative number as an operand when no option looks like one
      [['netns', 'add', '-1'], '-1'],
      [['netns', 'add', '-'], '-'],
      [['netns', 'add', 'a\nb'], 'a\nb'],
      [['netns', 'add', 'a\tb'], 'a\tb'],
      [['exec', '--', '-rf', 'true'], '-rf'],
    ];
    for (const [argv, name] of cases) {
      const p = await parse(argv);
      assert.equal(p.args[0], name, argv.join(' '));
      assert.throws(() => { validateNetnsName(name); }, InvalidConfigError);
    }
  });

  it('--version prints the version and ends without an action', async () => {
    const err = await usageError(['--version']);
    assert.equal(err.code, 'commander.version');
    assert.equal(err.exitCode, 0);
  });
});
