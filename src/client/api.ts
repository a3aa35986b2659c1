/**
 * The agent's API, HTTP/1.1 and JSON on a unix socket, versioned under `/v1`: the routes, what each
 * takes and answers, the headers, and the HTTP status of every error code. One module for both
 * ends: the server in `src/daemon/` and the client in `agent-client.ts`. It loads no engine code:
 * the engine's types are imported as types only.
 * @module
 */
import { readlinkSync } from 'node:fs';
import type { AttachedEndpoint, ConnectOptions, Endpoint, EndpointSelector, GcReport, HostChange, Network, NetworkDetails, NetworkSpec, SysctlChange } from '../index.js';

/** Where the agent listens unless `--socket` or `$CTNET_SOCKET` says otherwise. */
export const DEFAULT_SOCKET = '/run/ctnet/ctnet.sock';

/** The agent's socket: `$CTNET_SOCKET` of `env`, else /run/ctnet/ctnet.sock. */
export function socketPathOf(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['CTNET_SOCKET'] ?? DEFAULT_SOCKET;
}

type Awaitable<T> = T | Promise<T>;

/**
 * The engine's calls the CLI makes: what both `Ctnet` (in this process) and `AgentClient` (through
 * the agent) implement, so that a command does not know which of them serves it.
 */
export interface CtnetCalls {
  createNetwork(spec: NetworkSpec): Promise<Network>;
  removeNetwork(name: string): Promise<void>;
  listNetworks(): Awaitable<Network[]>;
  inspectNetwork(name: string): Awaitable<NetworkDetails>;
  checkNetwork(name: string): Promise<string[]>;
  connect(network: string, container: string, options?: ConnectOptions): Promise<AttachedEndpoint>;
  disconnect(network: string, container: string, selector?: EndpointSelector): Promise<void>;
  listEndpoints(): Awaitable<Endpoint[]>;
  getEndpoint(network: string, container: string, selector?: EndpointSelector): Awaitable<Endpoint | undefined>;
  checkEndpoint(network: string, container: string, selector?: EndpointSelector): Promise<string[]>;
  deleteNetns(name: string, options?: { force?: boolean }): Promise<void>;
  gc(options?: { dryRun?: boolean }): Promise<GcReport>;
}

/**
 * Every route: its method and path, `{name}` standing for one percent-encoded path segment. The
 * engine's routes are named after the `CtnetCalls` method they serve.
 */
export const ROUTES = {
  version: { method: 'GET', path: '/v1/version' },
  listNetworks: { method: 'GET', path: '/v1/networks' },
  createNetwork: { method: 'POST', path: '/v1/networks' },
  inspectNetwork: { method: 'GET', path: '/v1/networks/{network}' },
  removeNetwork: { method: 'DELETE', path: '/v1/networks/{network}' },
  checkNetwork: { method: 'GET', path: '/v1/networks/{network}/check' },
  listEndpoints: { method: 'GET', path: '/v1/endpoints' },
  connect: { method: 'POST', path: '/v1/networks/{network}/endpoints' },
  getEndpoint: { method: 'GET', path: '/v1/networks/{network}/endpoints/{container}' },
  disconnect: { method: 'DELETE', path: '/v1/networks/{network}/endpoints/{container}' },
  checkEndpoint: { method: 'GET', path: '/v1/networks/{network}/endpoints/{container}/check' },
  deleteNetns: { method: 'DELETE', path: '/v1/netns/{name}' },
  gc: { method: 'POST', path: '/v1/gc' },
  cni: { method: 'POST', path: '/v1/cni' },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'DELETE'; path: string }>;

export type RouteName = keyof typeof ROUTES;

type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;

/** The path parameters of a route, by name: `{ network: string; container: string }`. */
export type RouteParams<R extends RouteName> = { [K in ParamNames<(typeof ROUTES)[R]['path']>]: string };

/** The body of `POST /v1/networks/{network}/endpoints`. */
export interface ConnectBody {
  container: string;
  options?: ConnectOptions;
}

/** The body of `POST /v1/cni`: the plugin's environment (its CNI_* and CTNET_* variables) and stdin. */
export interface CniRequest {
  env: Record<string, string>;
  stdin: string;
}

/** What `GET /v1/version` answers. */
export interface AgentVersion {
  /** ctnet's version, as `ctnet --version` prints it. */
  version: string;
  api: 'v1';
  /** The state directory the agent serves. */
  stateDir: string;
  pid: number;
}

/**
 * The query of the routes that find one endpoint (`getEndpoint`, `checkEndpoint`, `disconnect`):
 * `owner=cli|cni` and `ifname=NAME`, each optional; `deleteNetns` takes `force=true`.
 */
export function selectorQuery(selector: EndpointSelector = {}): Record<string, string> {
  return { ...(selector.owner === undefined ? {} : { owner: selector.owner }), ...(selector.ifname === undefined ? {} : { ifname: selector.ifname }) };
}

/** The path of a route with its parameters filled in and its query appended. */
export function routePath<R extends RouteName>(route: R, params: RouteParams<R>, query: Readonly<Record<string, string>> = {}): string {
  const values = params as Readonly<Record<string, string>>;
  const path = ROUTES[route].path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ''));
  const search = new URLSearchParams(query).toString();
  return search === '' ? path : `${path}?${search}`;
}

const COMPILED = Object.entries(ROUTES).map(([name, route]) => ({
  name: name as RouteName,
  method: route.method,
  segments: route.path.split('/'),
}));

/**
 * The route a request's method and path (without its query) name: the route with its decoded
 * parameters, `method` when the path exists for other methods only, or undefined.
 * @throws {URIError} for a parameter that is not valid percent-encoding
 */
export function matchRoute(method: string, pathname: string): { name: RouteName; params: Record<string, string> } | 'method' | undefined {
  const segments = pathname.split('/');
  let pathFound = false;
  for (const route of COMPILED) {
    if (route.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const same = route.segments.every((want, i) => {
      const got = segments[i] ?? '';
      if (!want.startsWith('{')) return want === got;
      params[want.slice(1, -1)] = decodeURIComponent(got);
      return true;
    });
    if (!same) continue;
    if (route.method === method) return { name: route.name, params };
    pathFound = true;
  }
  return pathFound ? 'method' : undefined;
}

/** Header names (lower case, as node:http gives them). */
export const HEADER = {
  /** The state directory the request means, percent-encoded; absent: the one the agent serves. */
  stateDir: 'ctnet-state-dir',
  /** The caller's network, mount and pid namespaces (`namespaceIdentity()`); absent: the agent's. */
  namespaces: 'ctnet-namespaces',
  /** The exit code of a CNI request, beside the plugin's stdout as the body. */
  cniExit: 'ctnet-cni-exit',
} as const;

/**
 * The namespaces that decide what a request means: container references (`/run/netns/NAME`,
 * `pid:N`) are resolved in the mount and pid namespaces, and a change is made in the network
 * namespace, of whoever serves it. The agent serves only callers that share all three.
 * @example
 * namespaceIdentity(); // 'net:[4026531840] mnt:[4026531841] pid:[4026531836]'
 */
export function namespaceIdentity(): string {
  return ['net', 'mnt', 'pid'].map((ns) => readlinkSync(`/proc/self/ns/${ns}`)).join(' ');
}

/**
 * What a call changed on the host beyond ctnet's own objects, for the caller to tell its user as an
 * in-process engine would: host sysctls, and rules in another firewall's chains.
 */
export interface HostChanges {
  sysctlChanges: SysctlChange[];
  hostChanges: HostChange[];
}

/** A successful answer: the call's result (null for none) and what it changed on the host. */
export interface OkAnswer<T = unknown> extends HostChanges {
  result: T | null;
}

/** An error as it travels: message, code, the error class's own fields, and the errors it holds. */
export interface WireError {
  error: string;
  code: string;
  fields?: Record<string, string | number | boolean | null>;
  /** A TeardownError's errors. */
  errors?: WireError[];
}

/** A failed answer: the error, and what the call changed on the host before it failed. */
export interface ErrorAnswer extends WireError, Partial<HostChanges> {}

/** Codes of the API itself, beside the engine's `CtnetErrorCode`s. */
export type ApiErrorCode =
  | 'CTNET_BAD_REQUEST'
  | 'CTNET_NO_ROUTE'
  | 'CTNET_METHOD_NOT_ALLOWED'
  | 'CTNET_REQUEST_TIMEOUT'
  | 'CTNET_TOO_LARGE'
  | 'CTNET_MISDIRECTED'
  | 'CTNET_INTERNAL';

/**
 * 421 Misdirected Request: this agent does not serve the request and has done nothing; the caller
 * runs it in its own process. Another state directory, other namespaces, a state database that was
 * replaced or is no longer private, an agent that is stopping or has too many connections.
 */
export const MISDIRECTED = 421;

const STATUS: Readonly<Record<string, number>> = {
  CTNET_INVALID_CONFIG: 400,
  CTNET_NOT_FOUND: 404,
  CTNET_CONFLICT: 409,
  CTNET_IPAM_EXHAUSTED: 409,
  CTNET_TIMEOUT: 503,
  CTNET_BAD_REQUEST: 400,
  CTNET_NO_ROUTE: 404,
  CTNET_METHOD_NOT_ALLOWED: 405,
  CTNET_REQUEST_TIMEOUT: 408,
  CTNET_TOO_LARGE: 413,
  CTNET_MISDIRECTED: MISDIRECTED,
};

/** The HTTP status of an error code; 500 for the engine's failures (netlink, nft, state, system, teardown). */
export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/** Bodies larger than this are refused with 413: the largest request (a CNI config with its prevResult) is a few KiB. */
export const MAX_BODY_BYTES = 1024 * 1024;
