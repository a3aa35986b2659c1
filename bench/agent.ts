/**
 * CNI calls sent straight to the agent's socket, for the rows that split a call's time between
 * the client's exec, the socket and the agent. The agent itself is the test suite's (started on
 * the row's state directory and socket, stopped by its pid).
 * @module
 */
import { agentRequest } from '../test/helpers/agent.js';

export interface CniOverHttp {
  /** The plugin's exit code, from the agent's Ctnet-Cni-Exit header. */
  exit: number;
  stdout: string;
  /** The whole exchange, as this process saw it. */
  roundTripMs: number;
  /** The agent's own time for the call (its Server-Timing header). */
  serverMs: number;
}

/** One CNI call to the agent's `POST /v1/cni`, as the native client sends it but without its exec. */
export async function cniOverHttp(socket: string, env: Readonly<Record<string, string>>, stdin: string): Promise<CniOverHttp> {
  const started = performance.now();
  const answer = await agentRequest(socket, 'POST', '/v1/cni', JSON.stringify({ env, stdin }), { connection: 'close' });
  const roundTripMs = performance.now() - started;
  const serverMs = Number(/dur=([\d.]+)/.exec(String(answer.headers['server-timing'] ?? ''))?.[1]);
  return { exit: Number(answer.headers['ctnet-cni-exit']), stdout: answer.body, roundTripMs, serverMs };
}
