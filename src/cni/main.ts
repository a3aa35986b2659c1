/**
 * The `ctnet-cni` executable: the CNI protocol on the real process (env, stdin, stdout, exit code).
 * @module
 */
import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { type CniCommand, type CniHandler, runCni } from './skel.js';
import { pluginAbout, SUPPORTED_VERSIONS, version } from './version.js';

/**
 * A command that needs the engine, which is loaded only when the command runs: runtimes call
 * VERSION before every ADD and DEL, and it needs nothing but the version list.
 */
function engineCommand(command: Exclude<CniCommand, 'VERSION'>): CniHandler {
  return async (env, stdin, reply) => (await import('./plugin.js')).cniHandlers[command](env, stdin, reply);
}

const handlers: Record<CniCommand, CniHandler> = {
  ADD: engineCommand('ADD'),
  DEL: engineCommand('DEL'),
  CHECK: engineCommand('CHECK'),
  STATUS: engineCommand('STATUS'),
  GC: engineCommand('GC'),
  VERSION: version,
};

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

// A failed write is reported to its callback (and so to the handler, which undoes its work); the
// stream emits the same error as an event too, which without a listener would end the process.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

process.exitCode = await runCni(
  {
    env: process.env,
    // Only POSIX systems have an effective uid; ctnet runs on Linux, so anything else is not root.
    euid: process.geteuid?.() ?? -1,
    readStdin: () => text(process.stdin),
    writeStdout: (s) => new Promise((resolve, reject) => process.stdout.write(s, (err) => {
      if (err) reject(err);
      else resolve();
    })),
    writeStderr: (s) => process.stderr.write(s),
  },
  { handlers, supportedVersions: SUPPORTED_VERSIONS, about: pluginAbout(pkg.version) },
);
