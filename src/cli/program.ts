/**
 * The commander program with ctnet's global options, shared by every command module.
 * @module
 */
import { Command } from '@commander-js/extra-typings';
import type { Ctnet, HostChange, SysctlChange } from '../index.js';
import { hostChangeNotice, printNotice } from './output.js';

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
 * Run `fn` with an engine that is closed afterwards, whatever happens. Every change ctnet makes to
 * the host's own sysctls (forwarding, accept_ra of the host's interfaces) and to another
 * firewall's chains is told on stderr.
 */
export async function withEngine<T>(opts: GlobalOptions, fn: (ct: Ctnet) => Promise<T> | T): Promise<T> {
  const { Ctnet } = await loadLibrary();
  const onSysctlChange = (change: SysctlChange): void => {
    if (!change.ownLink) printNotice(`set sysctl ${change.key}=${change.value} (was ${change.previous ?? 'unreadable'}): ${change.why}`, opts.json === true);
  };
  const onHostChange = (change: HostChange): void => { printNotice(hostChangeNotice(change), opts.json === true); };
  return Ctnet.using({ onSysctlChange, onHostChange, ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }) }, fn);
}
