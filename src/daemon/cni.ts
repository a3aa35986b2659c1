/**
 * `POST /v1/cni`: a CNI request as the native client forwards it (the plugin's environment and
 * stdin), run by the same code as the exec'd Node plugin with the agent's warm engine, answered
 * with exactly the plugin's stdout and its exit code.
 * @module
 */
import { type CniRequest, HEADER } from '../client/api.js';
import { createCniHandlers, type EngineScope } from '../cni/plugin.js';
import { runCni } from '../cni/skel.js';
import { pluginAbout, SUPPORTED_VERSIONS } from '../cni/version.js';
import { type ApiAnswer, errorAnswer } from './http.js';
import type { AgentLog } from './log.js';
import { Misdirected, type WarmEngine } from './warm-engine.js';

/** Turns of the event loop an answer waits for news of its client's close. */
const CLOSE_TURNS = 3;

export interface CniContext {
  warm: WarmEngine;
  log: AgentLog;
  /** ctnet's version, for the banner of a request without CNI_COMMAND. */
  version: string;
}

/**
 * Run one CNI request. A request for a state directory the agent does not serve is answered 421
 * (the client then execs the Node plugin): the handlers ask for their engine before they change
 * anything, so nothing was done for it.
 */
export async function serveCni(request: CniRequest, ctx: CniContext, clientGone: () => boolean): Promise<ApiAnswer> {
  let misdirected: Misdirected | undefined;
  const scope: EngineScope = async (options, fn) => {
    try {
      return await ctx.warm.use(options.stateDir, fn);
    } catch (err) {
      if (err instanceof Misdirected) misdirected = err;
      throw err;
    }
  };
  let stdout = '';
  const exit = await runCni(
    {
      env: request.env,
      // Only root reaches the socket (0600, in a 0700 directory): the caller is root as the agent is.
      euid: process.geteuid?.() ?? -1,
      readStdin: () => Promise.resolve(request.stdin),
      // An ADD whose result can no longer reach the runtime undoes its work, as the exec'd plugin's
      // does when its stdout is closed. A close the kernel already has may not have reached this
      // process yet: its readiness can fall in the next poll of the event loop, and the socket's
      // end comes a tick after that. A few turns of the loop (microseconds when idle) hear it.
      writeStdout: async (text) => {
        for (let turn = 0; turn < CLOSE_TURNS && !clientGone(); turn++) await new Promise((resolve) => setImmediate(resolve));
        if (clientGone()) throw new Error('the client closed its connection');
        stdout += text;
      },
      writeStderr: (text) => {
        ctx.log.write('cni', text.trimEnd(), { command: request.env['CNI_COMMAND'] ?? '', containerId: request.env['CNI_CONTAINERID'] ?? '' });
      },
    },
    { handlers: createCniHandlers(scope), supportedVersions: SUPPORTED_VERSIONS, about: pluginAbout(ctx.version) },
  );
  if (misdirected !== undefined) return errorAnswer('CTNET_MISDIRECTED', misdirected.message);
  return { status: 200, body: stdout, headers: { [HEADER.cniExit]: String(exit) } };
}
