/**
 * The `ctnet-cni` executable: the CNI protocol on the real process (env, stdin, stdout, exit code).
 * @module
 */
import { text } from 'node:stream/consumers';
import { type CniCommand, type CniHandler, runCni } from './skel.js';
import { LATEST_VERSION, version } from './version.js';

/**
 * A command that needs the engine, which is loaded only when the command runs: runtimes call
 * VERSION before every ADD and DEL, and it needs nothing but the version list.
 */
function engineCommand(command: Exclude<CniCommand, 'VERSION'>): CniHandler {
  return async (env, stdin) => (await import('./plugin.js')).cniHandlers[command](env, stdin);
}

const handlers: Record<CniCommand, CniHandler> = {
  ADD: engineCommand('ADD'),
  DEL: engineCommand('DEL'),
  CHECK: engineCommand('CHECK'),
  STATUS: engineCommand('STATUS'),
  GC: engineCommand('GC'),
  VERSION: version,
};

process.exitCode = await runCni(
  {
    env: process.env,
    readStdin: () => text(process.stdin),
    writeStdout: (s) => process.stdout.write(s),
    writeStderr: (s) => process.stderr.write(s),
  },
  handlers,
  LATEST_VERSION,
);
