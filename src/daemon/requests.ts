/**
 * The parts of a request the agent reads, parsed once into typed values: the JSON bodies of connect
 * and CNI requests, the endpoint selector and `force` in the query, the state directory header.
 * Anything else is refused with 400 before the engine sees it. A network spec and published ports
 * go to the engine as they came: it checks them for every caller, library users included.
 * @module
 */
import * as v from 'valibot';
import { type CniRequest, type ConnectBody, HEADER } from '../client/api.js';
import { schemaProblem } from '../cni/config.js';
import type { ConnectOptions, EndpointSelector, PublishSpec } from '../index.js';
import { type ApiRequest, RequestError } from './http.js';

const str = v.string('a string');

const connectSchema = v.strictObject(
  {
    container: str,
    options: v.exactOptional(
      v.strictObject(
        {
          ips: v.exactOptional(v.array(str, 'a list of strings')),
          ifname: v.exactOptional(str),
          mac: v.exactOptional(str),
          ports: v.exactOptional(v.array(v.unknown(), 'a list')),
          owner: v.exactOptional(v.picklist(['cli', 'cni'], '"cli" or "cni"')),
          containerId: v.exactOptional(str),
        },
        'an object with ConnectOptions keys only',
      ),
    ),
  },
  'an object with "container" and "options" only',
);

const cniSchema = v.strictObject(
  {
    env: v.record(v.string(), str, 'an object of strings'),
    stdin: str,
  },
  'an object with "env" and "stdin" only',
);

function parse<T>(schema: v.GenericSchema<unknown, T>, body: unknown): T {
  const parsed = v.safeParse(schema, body, { abortEarly: true });
  if (!parsed.success) throw new RequestError('CTNET_BAD_REQUEST', `request body: ${schemaProblem('', parsed.issues[0])}`);
  return parsed.output;
}

/** The body of a connect request. */
export function connectBody(req: ApiRequest): ConnectBody & { options: ConnectOptions } {
  const body = parse(connectSchema, req.body);
  const { ports, ...rest } = body.options ?? {};
  // Each port is checked by the engine, which words what is wrong with it.
  return { container: body.container, options: { ...rest, ...(ports === undefined ? {} : { ports: ports as PublishSpec[] }) } };
}

export function cniBody(req: ApiRequest): CniRequest {
  return parse(cniSchema, req.body);
}

/** `owner` and `ifname` of the query. */
export function selector(req: ApiRequest): EndpointSelector {
  const owner = req.url.searchParams.get('owner');
  const ifname = req.url.searchParams.get('ifname');
  if (owner !== null && owner !== 'cli' && owner !== 'cni') throw new RequestError('CTNET_BAD_REQUEST', `query "owner" must be "cli" or "cni", not ${JSON.stringify(owner)}`);
  return { ...(owner === null ? {} : { owner }), ...(ifname === null ? {} : { ifname }) };
}

/** A yes/no of the query (`force=true`, `dryRun=true`); absent is no. */
export function flag(req: ApiRequest, name: string): boolean {
  const value = req.url.searchParams.get(name);
  if (value !== null && value !== 'true' && value !== 'false') throw new RequestError('CTNET_BAD_REQUEST', `query "${name}" must be "true" or "false", not ${JSON.stringify(value)}`);
  return value === 'true';
}

/** The state directory the request means, or `served` when it names none. */
export function requestStateDir(req: ApiRequest, served: string): string {
  const header = req.headers[HEADER.stateDir];
  if (header === undefined) return served;
  try {
    return decodeURIComponent(String(header));
  } catch {
    throw new RequestError('CTNET_BAD_REQUEST', `header ${HEADER.stateDir} is not percent-encoded text`);
  }
}
