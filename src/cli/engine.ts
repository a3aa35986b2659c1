/**
 * The engine a command talks to: the agent when its socket takes the call, else a `Ctnet` opened in
 * this process, exactly as without an agent. The in-process engine (SQLite, the addon) is loaded
 * only when the agent does not take a call.
 * @module
 */
import { existsSync } from 'node:fs';
import { debuglog } from 'node:util';
import type { AgentClient } from '../client/agent-client.js';
import { type CtnetCalls, socketPathOf } from '../client/api.js';
import { AgentUnavailable } from '../client/unavailable.js';
import type { ConnectOptions, Ctnet, EndpointSelector, HostChange, NetworkSpec, SysctlChange } from '../index.js';
import { stateDirOf } from '../state/state-dir.js';

const debug = debuglog('ctnet');

export interface RoutedEngineOptions {
  /** `--state-dir` as given; undefined: `$CTNET_STATE_DIR` or the default. */
  stateDir: string | undefined;
  onSysctlChange: (change: SysctlChange) => void;
  onHostChange: (change: HostChange) => void;
  /** Opens the engine in this process, for the calls the agent does not take. */
  openLocal: () => Promise<Ctnet>;
}

/**
 * Each call goes to the agent first. One it does not take (no agent, or it answered 421) runs in
 * this process, and so does every call after it: the agent did nothing for it, so running it here
 * is the same call, once.
 */
export class RoutedEngine implements CtnetCalls {
  #agent: Promise<AgentClient> | undefined;
  #local: Ctnet | undefined;
  readonly #openLocal: () => Promise<Ctnet>;

  constructor(options: RoutedEngineOptions) {
    const socketPath = socketPathOf();
    // No socket file, no agent: the calls run here, without even loading the HTTP client.
    this.#agent = existsSync(socketPath)
      ? import('../client/agent-client.js').then(({ AgentClient }) => new AgentClient({ socketPath, stateDir: stateDirOf(options.stateDir), onSysctlChange: options.onSysctlChange, onHostChange: options.onHostChange }))
      : undefined;
    this.#openLocal = options.openLocal;
  }

  async #run<T>(call: (engine: CtnetCalls) => T | Promise<T>): Promise<T> {
    if (this.#agent !== undefined) {
      try {
        return await call(await this.#agent);
      } catch (err) {
        if (!(err instanceof AgentUnavailable)) throw err;
        debug('%s; running in this process', err.message);
        this.#agent = undefined;
      }
    }
    this.#local ??= await this.#openLocal();
    return call(this.#local);
  }

  createNetwork(spec: NetworkSpec) {
    return this.#run((e) => e.createNetwork(spec));
  }

  removeNetwork(name: string) {
    return this.#run((e) => e.removeNetwork(name));
  }

  listNetworks() {
    return this.#run((e) => e.listNetworks());
  }

  inspectNetwork(name: string) {
    return this.#run((e) => e.inspectNetwork(name));
  }

  checkNetwork(name: string) {
    return this.#run((e) => e.checkNetwork(name));
  }

  connect(network: string, container: string, options?: ConnectOptions) {
    return this.#run((e) => e.connect(network, container, options));
  }

  disconnect(network: string, container: string, selector?: EndpointSelector) {
    return this.#run((e) => e.disconnect(network, container, selector));
  }

  listEndpoints() {
    return this.#run((e) => e.listEndpoints());
  }

  getEndpoint(network: string, container: string, selector?: EndpointSelector) {
    return this.#run((e) => e.getEndpoint(network, container, selector));
  }

  checkEndpoint(network: string, container: string, selector?: EndpointSelector) {
    return this.#run((e) => e.checkEndpoint(network, container, selector));
  }

  deleteNetns(name: string, options?: { force?: boolean }) {
    return this.#run((e) => e.deleteNetns(name, options));
  }

  gc(options?: { dryRun?: boolean }) {
    return this.#run((e) => e.gc(options));
  }

  /** Close the in-process engine, if a call needed one. */
  close(): void {
    this.#local?.close();
  }
}
