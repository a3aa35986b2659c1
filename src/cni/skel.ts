/**
 * The CNI execution protocol around ctnet's commands: read CNI_* and stdin through an injected
 * `CniIo`, check what each command needs (environment, root), dispatch, and answer with spec JSON.
 * @module
 */
import { CNI_ERR, CniError, toCniError } from './errors.js';
import { errorMessage } from '../errors.js';

/** Everything the plugin reads from and writes to its process, injectable for tests. */
export interface CniIo {
  env: Readonly<Record<string, string | undefined>>;
  /** The effective user id the process runs as. */
  euid: number;
  readStdin(): Promise<string>;
  /** Resolves once the text is written; rejects when it cannot be (the runtime closed the pipe). */
  writeStdout(text: string): Promise<void>;
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

/** Writes a command's answer to stdout as one JSON line; rejects with code 5 when that fails. */
export type CniReply = (answer: unknown) => Promise<void>;

/**
 * A command handler: gets the environment and stdin, and answers through `reply` (or not at all).
 * The handler writes its own answer so that it can undo its work when the answer cannot be given.
 */
export type CniHandler = (env: CniEnv, stdin: string, reply: CniReply) => Promise<void>;

/** A plugin as runCni runs it. */
export interface CniPlugin {
  handlers: Record<CniCommand, CniHandler>;
  /** Spec versions the plugin speaks, oldest first; errors without a readable cniVersion answer in the last. */
  supportedVersions: readonly string[];
  /** The first line of the banner printed without CNI_COMMAND: `CNI ctnet plugin v0.1.0`. */
  about: string;
}

interface Requirement {
  vars: readonly string[];
  /** The command changes the kernel or ctnet's state, which only root may. */
  root: boolean;
}

const REQUIRED: Record<CniCommand, Requirement> = {
  ADD: { vars: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'], root: true },
  DEL: { vars: ['CNI_CONTAINERID', 'CNI_IFNAME'], root: true },
  CHECK: { vars: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'], root: true },
  VERSION: { vars: [], root: false },
  STATUS: { vars: [], root: true },
  GC: { vars: [], root: true },
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function readCommand(command: string): CniCommand {
  if (!Object.hasOwn(REQUIRED, command)) {
    throw new CniError(CNI_ERR.INVALID_ENV, 'invalid CNI_COMMAND', `CNI_COMMAND is "${command}"; expected one of ${Object.keys(REQUIRED).join(', ')}`);
  }
  return command as CniCommand;
}

/** Refuse to run a command that needs root without it, before it touches the state or the kernel. */
function checkRoot(command: CniCommand, euid: number): void {
  if (!REQUIRED[command].root || euid === 0) return;
  throw new CniError(
    CNI_ERR.NOT_AVAILABLE,
    'ctnet-cni must run as root',
    `${command} runs as uid ${euid}; it configures network namespaces, links and nftables and writes ctnet's state directory, which needs root`,
  );
}

function readEnv(env: CniIo['env'], cmd: CniCommand): CniEnv {
  const missing = REQUIRED[cmd].vars.filter((k) => (env[k] ?? '') === '');
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
 * Errors go to stdout as the spec requires, and as one line to stderr for logs. Without
 * CNI_COMMAND (a person running the plugin by hand) it prints who it is and the versions it
 * speaks to stderr and exits 0, as the reference plugins' skel does.
 */
export async function runCni(io: CniIo, plugin: CniPlugin): Promise<number> {
  const command = io.env['CNI_COMMAND'] ?? '';
  if (command === '') {
    io.writeStderr(`${plugin.about}\nCNI protocol versions supported: ${plugin.supportedVersions.join(', ')}\n`);
    return 0;
  }
  let stdin = '';
  try {
    const cmd = readCommand(command);
    // Read the config before checking the rest, so that an error about a missing variable or
    // the user still answers in the request's cniVersion.
    try {
      stdin = await io.readStdin();
    } catch (err) {
      throw new CniError(CNI_ERR.IO_FAILURE, 'failed to read network configuration', errorMessage(err));
    }
    checkRoot(cmd, io.euid);
    const env = readEnv(io.env, cmd);
    const reply: CniReply = async (answer) => {
      try {
        await io.writeStdout(`${JSON.stringify(answer)}\n`);
      } catch (err) {
        throw new CniError(CNI_ERR.IO_FAILURE, `failed to write the ${cmd} result`, errorMessage(err));
      }
    };
    await plugin.handlers[cmd](env, stdin, reply);
    return 0;
  } catch (err) {
    const e = toCniError(err);
    const body: Record<string, unknown> = { cniVersion: requestVersion(stdin, plugin.supportedVersions.at(-1) ?? ''), code: e.code, msg: e.message };
    if (e.details !== undefined) body['details'] = e.details;
    // When stdout is what failed, the line on stderr is all the runtime's log will get.
    await io.writeStdout(`${JSON.stringify(body)}\n`).catch(() => undefined);
    io.writeStderr(`ctnet-cni: ${e.message}${e.details === undefined ? '' : `: ${e.details}`}\n`);
    return 1;
  }
}
