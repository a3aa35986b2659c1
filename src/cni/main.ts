/**
 * The `ctnet-cni` executable: the CNI protocol on the real process (env, stdin, stdout, exit code).
 * @module
 */
import { text } from 'node:stream/consumers';
import { cniHandlers, LATEST_VERSION } from './plugin.js';
import { runCni } from './skel.js';

process.exitCode = await runCni(
  {
    env: process.env,
    readStdin: () => text(process.stdin),
    writeStdout: (s) => process.stdout.write(s),
    writeStderr: (s) => process.stderr.write(s),
  },
  cniHandlers,
  LATEST_VERSION,
);
