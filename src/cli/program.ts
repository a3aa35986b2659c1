/**
 * The commander program with ctnet's global options, shared by every command module.
 * @module
 */
import { Command } from '@commander-js/extra-typings';
import type { CtnetCalls } from '../client/api.js';
import { describeHostChange } from '../firewall/host-change.js';
import { describeSysctlChange } from '../network/sysctl-change.js';
import type { HostChange, SysctlChange } from '../index.js';
import { printNotice } from './output.js';

/** The library's public API, as the CLI uses it. */
export type Library = typeof import('../index.js');

/**
 * Load the library. It is loaded when a command first needs it rather than at start-up, so
 * `--help` and `--version` never load SQLite, the native addon or the engine.
 */
export function loadLibrary(): Promise<Library> {
  return import('../index.js');
}

export function createProgram(version: string) {
  return new Command()
    .name('ctnet')
    .description('Container networking for Linux: namespaces, veth pairs, bridges and nftables')
    .version(version, '-V, --version')
    .option('--json', 'print machine-readable JSON')
    .option('--state-dir <dir>', 'state directory (env CTNET_STATE_DIR, default /var/lib/ctnet)')
    // Usage errors are one line on stderr like every other ctnet error (`ctnet: unknown command
    // 'x'`, or printError's JSON object under --json), not commander's "error: ..." followed by the
    // whole help text. They are bad input: main.ts exits 2.
    .configureOutput({
      outputError: (text, write) => {
        const message = text.replace(/^error: /, '').replaceAll('\n', ' ').trim();
        write(process.argv.includes('--json') ? `${JSON.stringify({ error: message, code: 'CTNET_INVALID_CONFIG' })}\n` : `ctnet: ${message}\n`);
      },
    });
}

export type Program = ReturnType<typeof createProgram>;

export interface GlobalOptions {
  json?: true;
  stateDir?: string;
}

/**
 * Run `fn` with the engine: the agent's when it takes the calls, else one opened in this process and
 * closed afterwards, whatever happens. Every change ctnet makes to the host's own sysctls
 * (forwarding, accept_ra of the host's interfaces) and to another firewall's chains is told on
 * stderr, by whichever engine made it.
 */
export async function withEngine<T>(opts: GlobalOptions, fn: (ct: CtnetCalls) => Promise<T> | T): Promise<T> {
  const onSysctlChange = (change: SysctlChange): void => {
    if (!change.ownLink) printNotice(describeSysctlChange(change), opts.json === true);
  };
  const onHostChange = (change: HostChange): void => { printNotice(describeHostChange(change), opts.json === true); };
  // Loaded here, so that --help, --version and commands without an engine never load it.
  const { RoutedEngine } = await import('./engine.js');
  const engine = new RoutedEngine({
    stateDir: opts.stateDir,
    onSysctlChange,
    onHostChange,
    openLocal: async () => (await loadLibrary()).Ctnet.open({ onSysctlChange, onHostChange, ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }) }),
  });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}
