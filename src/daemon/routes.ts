/**
 * The agent's routes: each engine route is one engine call on the warm engine, its result or
 * error as JSON with the host sysctls it changed; `/v1/version` and `/v1/cni` beside them.
 * @module
 */
import { type AgentVersion, type ErrorAnswer, HEADER, type HostChanges, matchRoute, type OkAnswer, type RouteName, statusOf } from '../client/api.js';
import { errorToWire } from '../client/wire-errors.js';
import type { Ctnet, NetworkSpec } from '../index.js';
import { serveCni } from './cni.js';
import { type ApiAnswer, type ApiHandler, type ApiRequest, errorAnswer, RequestError } from './http.js';
import type { AgentLog } from './log.js';
import { cniBody, connectBody, flag, requestStateDir, selector } from './requests.js';
import { collectingHostChanges, Misdirected, type WarmEngine } from './warm-engine.js';

type EngineRoute = Exclude<RouteName, 'version' | 'cni'>;

/** A request's arguments parsed (throwing RequestError), then the call on the engine. */
type Call = (req: ApiRequest, params: Readonly<Record<string, string>>) => (ct: Ctnet) => unknown;

const p = (params: Readonly<Record<string, string>>, name: string): string => params[name] ?? '';

const CALLS: Readonly<Record<EngineRoute, Call>> = {
  listNetworks: () => (ct) => ct.listNetworks(),
  // The engine checks a spec of any shape, as it does for the library's callers.
  createNetwork: (req) => (ct) => ct.createNetwork(req.body as NetworkSpec),
  inspectNetwork: (_req, params) => (ct) => ct.inspectNetwork(p(params, 'network')),
  removeNetwork: (_req, params) => (ct) => ct.removeNetwork(p(params, 'network')),
  checkNetwork: (_req, params) => (ct) => ct.checkNetwork(p(params, 'network')),
  listEndpoints: () => (ct) => ct.listEndpoints(),
  connect: (req, params) => {
    const body = connectBody(req);
    return (ct) => ct.connect(p(params, 'network'), body.container, body.options);
  },
  getEndpoint: (req, params) => {
    const sel = selector(req);
    return (ct) => ct.getEndpoint(p(params, 'network'), p(params, 'container'), sel);
  },
  disconnect: (req, params) => {
    const sel = selector(req);
    return (ct) => ct.disconnect(p(params, 'network'), p(params, 'container'), sel);
  },
  checkEndpoint: (req, params) => {
    const sel = selector(req);
    return (ct) => ct.checkEndpoint(p(params, 'network'), p(params, 'container'), sel);
  },
  deleteNetns: (req, params) => {
    const forced = flag(req, 'force');
    return (ct) => ct.deleteNetns(p(params, 'name'), { force: forced });
  },
  gc: (req) => {
    const dryRun = flag(req, 'dryRun');
    return (ct) => ct.gc({ dryRun });
  },
};

function ok(result: unknown, changes: HostChanges): ApiAnswer {
  const body: OkAnswer = { result: result ?? null, ...changes };
  return { status: 200, body: JSON.stringify(body) };
}

export interface RoutesContext {
  warm: WarmEngine;
  log: AgentLog;
  version: string;
  /** The agent's `namespaceIdentity()`. */
  namespaces: string;
}

/** The handler of every route. */
export function apiHandler(ctx: RoutesContext): ApiHandler {
  const engineCall = async (name: EngineRoute, req: ApiRequest, params: Record<string, string>): Promise<ApiAnswer> => {
    const theirs = req.headers[HEADER.namespaces];
    if (theirs !== undefined && theirs !== ctx.namespaces) {
      return errorAnswer('CTNET_MISDIRECTED', `the caller's namespaces (${String(theirs)}) are not the agent's (${ctx.namespaces})`);
    }
    const call = CALLS[name](req, params);
    const stateDir = requestStateDir(req, ctx.warm.stateDir);
    const changes: HostChanges = { sysctlChanges: [], hostChanges: [] };
    try {
      const result = await collectingHostChanges(changes, () => ctx.warm.use(stateDir, async (ct) => await call(ct)));
      return ok(result, changes);
    } catch (err) {
      if (err instanceof Misdirected) return errorAnswer('CTNET_MISDIRECTED', err.message);
      const wire = errorToWire(err);
      if (wire.code === 'CTNET_INTERNAL') ctx.log.write('request-failed', `${req.method} ${req.url.pathname} failed: ${wire.error}`);
      const body: ErrorAnswer = { ...wire, ...changes };
      return { status: statusOf(wire.code), body: JSON.stringify(body) };
    }
  };
  return async (req) => {
    let route;
    try {
      route = matchRoute(req.method, req.url.pathname);
    } catch {
      throw new RequestError('CTNET_BAD_REQUEST', `path ${req.url.pathname} is not valid percent-encoding`);
    }
    if (route === undefined) return errorAnswer('CTNET_NO_ROUTE', `no route ${req.method} ${req.url.pathname}`);
    if (route === 'method') return errorAnswer('CTNET_METHOD_NOT_ALLOWED', `${req.url.pathname} does not take ${req.method}`);
    if (route.name === 'version') {
      const version: AgentVersion = { version: ctx.version, api: 'v1', stateDir: ctx.warm.stateDir, pid: process.pid };
      return ok(version, { sysctlChanges: [], hostChanges: [] });
    }
    if (route.name === 'cni') return serveCni(cniBody(req), ctx, req.clientGone);
    return engineCall(route.name, req, route.params);
  };
}
