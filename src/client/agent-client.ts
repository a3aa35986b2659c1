/**
 * The client of the agent's API: the engine's calls as HTTP requests on the agent's unix socket.
 * Light on purpose (node:http and ctnet's error classes): a CLI call served by the agent loads
 * neither SQLite, the native addon nor the engine.
 * @module
 */
import { request } from 'node:http';
import { CtnetError, errorMessage, SystemError, systemErrorCode, TimeoutError } from '../errors.js';
import type { AttachedEndpoint, ConnectOptions, Endpoint, EndpointSelector, GcReport, HostChange, Network, NetworkDetails, NetworkSpec, SysctlChange } from '../index.js';
import {
  type AgentVersion,
  type ConnectBody,
  type CtnetCalls,
  type ErrorAnswer,
  HEADER,
  MISDIRECTED,
  namespaceIdentity,
  type OkAnswer,
  ROUTES,
  type RouteName,
  routePath,
  selectorQuery,
} from './api.js';
import { AgentUnavailable } from './unavailable.js';
import { errorFromWire } from './wire-errors.js';

export { AgentUnavailable } from './unavailable.js';

/**
 * How long a call may take the agent. Longer than the engine's own 30 s wait for another process's
 * lock, so that a call that waits that long fails with the lock's own error, not this one.
 */
export const DEFAULT_AGENT_TIMEOUT_MS = 60_000;

export interface AgentClientOptions {
  socketPath: string;
  /** The state directory the calls mean, as the caller resolved it (option, environment, default). */
  stateDir: string;
  /** Deadline of each call; default {@link DEFAULT_AGENT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Told of every host sysctl the agent changed for a call, before the call returns. */
  onSysctlChange?: (change: SysctlChange) => void;
  /** Told of every rule the agent changed in another firewall's chain for a call, before the call returns. */
  onHostChange?: (change: HostChange) => void;
}

interface RawAnswer {
  status: number;
  body: string;
}

/** The engine's calls, served by the agent. Every method throws {@link AgentUnavailable} when the agent does not take the call. */
export class AgentClient implements CtnetCalls {
  readonly #socketPath: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #onSysctlChange: ((change: SysctlChange) => void) | undefined;
  readonly #onHostChange: ((change: HostChange) => void) | undefined;

  constructor(options: AgentClientOptions) {
    this.#socketPath = options.socketPath;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS;
    this.#onSysctlChange = options.onSysctlChange;
    this.#onHostChange = options.onHostChange;
    this.#headers = { [HEADER.stateDir]: encodeURIComponent(options.stateDir), [HEADER.namespaces]: namespaceIdentity() };
  }

  version(): Promise<AgentVersion> {
    return this.#call('version', routePath('version', {}));
  }

  createNetwork(spec: NetworkSpec): Promise<Network> {
    return this.#call('createNetwork', routePath('createNetwork', {}), spec);
  }

  async removeNetwork(name: string): Promise<void> {
    await this.#call('removeNetwork', routePath('removeNetwork', { network: name }));
  }

  listNetworks(): Promise<Network[]> {
    return this.#call('listNetworks', routePath('listNetworks', {}));
  }

  inspectNetwork(name: string): Promise<NetworkDetails> {
    return this.#call('inspectNetwork', routePath('inspectNetwork', { network: name }));
  }

  checkNetwork(name: string): Promise<string[]> {
    return this.#call('checkNetwork', routePath('checkNetwork', { network: name }));
  }

  connect(network: string, container: string, options?: ConnectOptions): Promise<AttachedEndpoint> {
    const body: ConnectBody = { container, ...(options === undefined ? {} : { options }) };
    return this.#call('connect', routePath('connect', { network }), body);
  }

  async disconnect(network: string, container: string, selector?: EndpointSelector): Promise<void> {
    await this.#call('disconnect', routePath('disconnect', { network, container }, selectorQuery(selector)));
  }

  listEndpoints(): Promise<Endpoint[]> {
    return this.#call('listEndpoints', routePath('listEndpoints', {}));
  }

  async getEndpoint(network: string, container: string, selector?: EndpointSelector): Promise<Endpoint | undefined> {
    return (await this.#call<Endpoint | null>('getEndpoint', routePath('getEndpoint', { network, container }, selectorQuery(selector)))) ?? undefined;
  }

  checkEndpoint(network: string, container: string, selector?: EndpointSelector): Promise<string[]> {
    return this.#call('checkEndpoint', routePath('checkEndpoint', { network, container }, selectorQuery(selector)));
  }

  async deleteNetns(name: string, options?: { force?: boolean }): Promise<void> {
    await this.#call('deleteNetns', routePath('deleteNetns', { name }, options?.force === true ? { force: 'true' } : {}));
  }

  gc(options?: { dryRun?: boolean }): Promise<GcReport> {
    return this.#call('gc', routePath('gc', {}, options?.dryRun === true ? { dryRun: 'true' } : {}));
  }

  /** One call: the result, or the agent's error as the class it had. */
  async #call<T>(route: RouteName, path: string, body?: unknown): Promise<T> {
    const { method } = ROUTES[route];
    const answer = await this.#send(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (answer.status === MISDIRECTED) throw new AgentUnavailable(`the ctnet agent on ${this.#socketPath} does not serve ${method} ${path}: ${answer.body}`);
    let parsed: OkAnswer<T> | ErrorAnswer;
    try {
      parsed = JSON.parse(answer.body) as OkAnswer<T> | ErrorAnswer;
    } catch (err) {
      throw new Error(`the ctnet agent on ${this.#socketPath} answered ${method} ${path} with ${answer.status} and no JSON: ${errorMessage(err)}`, { cause: err });
    }
    for (const change of parsed.sysctlChanges ?? []) this.#onSysctlChange?.(change);
    for (const change of parsed.hostChanges ?? []) this.#onHostChange?.(change);
    if (answer.status >= 200 && answer.status < 300) return (parsed as OkAnswer<T>).result as T;
    throw errorFromWire(parsed as ErrorAnswer);
  }

  /**
   * One HTTP exchange on a connection of its own. A failure to connect means the agent never saw
   * the request ({@link AgentUnavailable}); any failure after that may come after the agent acted.
   */
  #send(method: string, path: string, payload: string | undefined): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      let connected = false;
      const headers: Record<string, string | number> = { ...this.#headers, connection: 'close' };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const req = request({ socketPath: this.#socketPath, method, path, headers, agent: false });
      const timer = setTimeout(() => {
        req.destroy(new TimeoutError(`the ctnet agent on ${this.#socketPath} did not answer ${method} ${path} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        if (err instanceof CtnetError) reject(err);
        else if (!connected) reject(new AgentUnavailable(`no ctnet agent on ${this.#socketPath}: ${errorMessage(err)}`, { cause: err }));
        else reject(lostAgent(this.#socketPath, method, path, err));
      };
      req.on('socket', (socket) => {
        socket.once('connect', () => {
          connected = true;
        });
      });
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(payload);
    });
  }
}

/** The connection to the agent broke after the request went out: it may have acted on it. */
function lostAgent(socketPath: string, method: string, path: string, err: unknown): SystemError {
  const errnoName = systemErrorCode(err);
  return new SystemError(`the ctnet agent on ${socketPath} closed the connection before answering ${method} ${path}: ${errorMessage(err)}`, {
    cause: err,
    ...(errnoName === undefined ? {} : { errnoName }),
  });
}
