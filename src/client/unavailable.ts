/**
 * The one error of the agent's client that a caller acts on, in a module of its own so that the
 * CLI can tell it without loading the client (and node:http) when there is no agent.
 * @module
 */

/**
 * The agent did not take the call: nothing listens on the socket (or there is no socket), or it
 * answered 421 (another state directory, other namespaces, stopping). Nothing was done: the
 * caller runs the call in its own process.
 */
export class AgentUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentUnavailable';
  }
}
