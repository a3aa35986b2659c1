/**
 * The CNI execution protocol around ctnet's commands: read CNI_* and stdin through an injected
 * `CniIo`, check the environment each command needs, dispatch, and answer with spec JSON.
 * @module
 */
import { CNI_ERR, CniError, toCniError } from './errors.js';
import { errorMessage } from '../errors.js';

/** Everything the plugin reads from and writes to its process, injectable for tests. */
export interface CniIo {
  env: Readonly<Record<string, string | undefined>>;
  readStdin(): Promise<string>;
  writeStdout(text: string): void;
  writeStderr(text: string): void;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

/** The environment of one invocation, after the checks its command requires. */
export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  args: string | undefined;
  /** The whole environment, for ctnet's own variables (CTNET_STATE_DIR). */
  vars: CniIo['env'];
}

/** A command handler: gets the environment and stdin, returns the JSON to print (or nothing). */
export type CniHandler = (env: CniEnv, stdin: string) => Promise<unknown>;

const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function readCommand(env: CniIo['env']): CniCommand {
  const command = env['CNI_COMMAND'];
  if (command === undefined || !Object.hasOwn(REQUIRED, command)) {
    throw new CniError(CNI_ERR.INVALID_ENV, 'invalid CNI_COMMAND', `CNI_COMMAND is "${command ?? ''}"; expected one of ${Object.keys(REQUIRED).join(', ')}`);
  }
  return command as CniCommand;
}

function readEnv(env: CniIo['env'], cmd: CniCommand): CniEnv {
  const missing = REQUIRED[cmd].filter((k) => (env[k] ?? '') === '');
  if (missing.length > 0) throw new CniError(CNI_ERR.INVALID_ENV, 'missing environment variables', `${cmd} needs ${missing.join(', ')}`);
  const containerId = env['CNI_CONTAINERID'] ?? '';
  if (containerId !== '' && !CONTAINER_ID.test(containerId)) {
    throw new CniError(CNI_ERR.INVALID_ENV, 'invalid CNI_CONTAINERID', `CNI_CONTAINERID "${containerId}" must match ${CONTAINER_ID.source}`);
  }
  return { command: cmd, containerId, netns: env['CNI_NETNS'] ?? '', ifname: env['CNI_IFNAME'] ?? '', args: env['CNI_ARGS'], vars: env };
}

/** The cniVersion to answer errors with: the request's when it parses, else the newest we speak. */
function requestVersion(stdin: string, fallback: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v !== '' ? v : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Run one invocation. Returns the process exit code: 0, or 1 after printing an error result.
 * Errors go to stdout as the spec requires, and as one line to stderr for logs.
 */
export async function runCni(io: CniIo, handlers: Record<CniCommand, CniHandler>, latestVersion: string): Promise<number> {
  let stdin = '';
  try {
    const command = readCommand(io.env);
    // Read the config before checking the rest of the environment, so that an error about a
    // missing variable still answers in the request's cniVersion.
    try {
      stdin = await io.readStdin();
    } catch (err) {
      throw new CniError(CNI_ERR.IO_FAILURE, 'failed to read network configuration', errorMessage(err));
    }
    const env = readEnv(io.env, command);
    const out = await handlers[env.command](env, stdin);
    if (out !== undefined) io.writeStdout(`${JSON.stringify(out)}\n`);
    return 0;
  } catch (err) {
    const e = toCniError(err);
    const body: Record<string, unknown> = { cniVersion: requestVersion(stdin, latestVersion), code: e.code, msg: e.message };
    if (e.details !== undefined) body['details'] = e.details;
    io.writeStdout(`${JSON.stringify(body)}\n`);
    io.writeStderr(`ctnet-cni: ${e.message}${e.details === undefined ? '' : `: ${e.details}`}\n`);
    return 1;
  }
}
