/**
 * The ctnet CNI network configuration, its runtime arguments and the previous result: parsed and
 * checked once, before anything is changed. The config mirrors `ctnet network create`.
 * @module
 */
import { isAbsolute } from 'node:path';
import * as v from 'valibot';
import { driverNamesText, isDriverName, type NetworkSpec, parseIp, type PortSpec } from '../index.js';
import { CNI_ERR, CniError } from './errors.js';
import { SUPPORTED_VERSIONS } from './version.js';
import { errorMessage } from '../errors.js';
import { describeValue } from '../validate/describe.js';

/** The family of IP address text, or undefined when parseIp refuses it. */
function ipFamily(text: string): 4 | 6 | undefined {
  try {
    return parseIp(text).family;
  } catch {
    return undefined;
  }
}

/** `10.88.0.5/24`, `fd10:88::5/64`: an address and a prefix length that fits its family. */
function isIpWithPrefix(text: string): boolean {
  const slash = text.indexOf('/');
  const family = slash === -1 ? undefined : ipFamily(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  return family !== undefined && /^(?:0|[1-9][0-9]{0,2})$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

// Every schema's message is what the value must be; schemaProblem() adds where and what it was.
const str = v.string('a string');
const ip = v.pipe(str, v.check((s: string) => ipFamily(s) !== undefined, 'an IP address'));
const ipWithPrefix = v.pipe(str, v.check(isIpWithPrefix, 'an IP address with a prefix length (CIDR)'));
const uint = v.pipe(v.number('a non-negative integer'), v.integer('a non-negative integer'), v.minValue(0, 'a non-negative integer'));
const list = <T extends v.GenericSchema>(item: T) => v.array(item, 'a list');
/**
 * A JSON object whose known keys must have their spec types; other keys are kept, because later
 * plugins in a chain add their own and the result must pass them on.
 */
const jsonObject = <E extends v.ObjectEntries>(entries: E) =>
  // looseObject alone takes an array for an object.
  v.pipe(v.custom<unknown>(isObject, 'an object'), v.looseObject(entries, 'an object'));

const interfaceSchema = jsonObject({
  name: str,
  mac: v.exactOptional(str),
  mtu: v.exactOptional(uint),
  sandbox: v.exactOptional(str),
  socketPath: v.exactOptional(str),
  pciID: v.exactOptional(str),
});

const ipSchema = jsonObject({
  address: ipWithPrefix,
  gateway: v.exactOptional(ip),
  interface: v.exactOptional(uint),
});

const routeSchema = jsonObject({
  dst: ipWithPrefix,
  gw: v.exactOptional(ip),
  mtu: v.exactOptional(uint),
  advmss: v.exactOptional(uint),
  priority: v.exactOptional(uint),
  table: v.exactOptional(uint),
  scope: v.exactOptional(uint),
});

const dnsSchema = jsonObject({
  nameservers: v.exactOptional(list(str)),
  domain: v.exactOptional(str),
  search: v.exactOptional(list(str)),
  options: v.exactOptional(list(str)),
});

/** The ADD result (SPEC.md "ADD Success", 1.0.0 and 1.1.0), as ctnet writes it and reads prevResult. */
const resultSchema = jsonObject({
  cniVersion: v.exactOptional(str),
  interfaces: v.exactOptional(list(interfaceSchema)),
  ips: v.exactOptional(list(ipSchema)),
  routes: v.exactOptional(list(routeSchema)),
  dns: v.exactOptional(dnsSchema),
});

/** The ADD result, typed from its schema so that the type and the check cannot drift apart. */
export type CniResult = v.InferOutput<typeof resultSchema>;
export type CniResultInterface = v.InferOutput<typeof interfaceSchema>;

export interface CniAttachmentRef {
  containerID: string;
  ifname: string;
}

/** One parsed request configuration. */
export interface CniNetConf {
  cniVersion: string;
  name: string;
  /** The network the config describes, as ctnet creates it when it does not exist yet. */
  spec: NetworkSpec;
  /** Keys the admin set explicitly, compared against an existing network. */
  explicit: Set<keyof NetworkSpec>;
  stateDir: string | undefined;
  prevResult: CniResult | undefined;
  runtime: {
    ports: PortSpec[];
    ips: string[];
    mac: string | undefined;
  };
  validAttachments: CniAttachmentRef[] | undefined;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(details: string): CniError {
  return new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', details);
}

function optString(conf: Json, key: string): string | undefined {
  const v = conf[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`"${key}" must be a string`);
  return v;
}

function optBool(conf: Json, key: string): boolean | undefined {
  const v = conf[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`"${key}" must be true or false`);
  return v;
}

/** Options of {@link parseNetConf}. */
export interface ParseNetConfOptions {
  /**
   * `ignore`: leave prevResult out, unchecked. For the commands that do not read it (DEL above
   * all): a runtime holding a malformed cached result must still be able to remove the attachment.
   */
  prevResult?: 'check' | 'ignore';
}

/** Parse the JSON on stdin. Malformed JSON is code 6; missing or ill-typed fields code 7. */
export function parseNetConf(text: string, options: ParseNetConfOptions = {}): CniNetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERR.DECODING_FAILURE, 'failed to decode network configuration', errorMessage(err));
  }
  if (!isObject(raw)) throw new CniError(CNI_ERR.DECODING_FAILURE, 'failed to decode network configuration', 'expected a JSON object');
  const cniVersion = optString(raw, 'cniVersion') ?? '';
  const name = optString(raw, 'name');
  if (name === undefined || name === '') throw invalid('"name" is required');
  const subnets = raw['subnets'];
  if (!Array.isArray(subnets) || subnets.length === 0 || !subnets.every((s): s is string => typeof s === 'string')) {
    throw invalid('"subnets" must be a non-empty list of CIDR strings');
  }
  const spec: NetworkSpec = { name, subnets };
  const explicit = new Set<keyof NetworkSpec>(['subnets']);
  const driver = optString(raw, 'driver');
  if (driver !== undefined) {
    if (!isDriverName(driver)) throw invalid(`"driver" must be ${driverNamesText()}, not "${driver}"`);
    spec.driver = driver;
    explicit.add('driver');
  }
  for (const key of ['bridge', 'gateway'] as const) {
    const v = optString(raw, key);
    if (v !== undefined) {
      spec[key] = v;
      explicit.add(key);
    }
  }
  const mtu = raw['mtu'];
  if (mtu !== undefined) {
    if (typeof mtu !== 'number') throw invalid('"mtu" must be a number');
    spec.mtu = mtu;
    explicit.add('mtu');
  }
  for (const key of ['nat', 'internal'] as const) {
    const v = optBool(raw, key);
    if (v !== undefined) {
      spec[key] = v;
      explicit.add(key);
    }
  }
  return {
    cniVersion,
    name,
    spec,
    explicit,
    stateDir: parseStateDir(raw),
    prevResult: options.prevResult === 'ignore' ? undefined : parsePrevResult(raw['prevResult']),
    runtime: parseRuntimeConfig(raw['runtimeConfig']),
    validAttachments: parseValidAttachments(raw['cni.dev/valid-attachments']),
  };
}

function parseStateDir(conf: Json): string | undefined {
  const dir = optString(conf, 'stateDir');
  // A relative path would follow whatever directory the runtime happens to run the plugin in.
  if (dir !== undefined && !isAbsolute(dir)) throw invalid(`"stateDir" must be an absolute path, not ${JSON.stringify(dir)}`);
  return dir;
}

/** A value as the details show it: JSON, cut short. */
function preview(value: unknown): string {
  const text = describeValue(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/**
 * The first problem valibot found, with the field it is in, below `root`:
 * `"prevResult.ips" must be a list, not 5`. Schemas word their messages as what the value must be.
 */
export function schemaProblem(root: string, issue: v.BaseIssue<unknown>): string {
  const where = [root, ...(issue.path ?? []).map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`))].join('').replace(/^\./, '');
  // A required key that is absent is reported on the key, with the message of the object around it.
  if (issue.path?.at(-1)?.origin === 'key') return `"${where}" is missing`;
  return `"${where}" must be ${issue.message}, not ${preview(issue.input)}`;
}

/**
 * prevResult is checked in full although ctnet reads little of it: ADD copies it into its own
 * result, and an entry of the wrong shape must be refused here, before anything changes.
 */
function parsePrevResult(prev: unknown): CniResult | undefined {
  if (prev === undefined) return undefined;
  const parsed = v.safeParse(resultSchema, prev, { abortEarly: true });
  if (!parsed.success) throw invalid(schemaProblem('prevResult', parsed.issues[0]));
  const result = parsed.output;
  const count = result.interfaces?.length ?? 0;
  result.ips?.forEach((entry, i) => {
    if (entry.interface !== undefined && entry.interface >= count) {
      const has = `${count} interface${count === 1 ? '' : 's'}`;
      throw invalid(`"prevResult.ips[${i}].interface" must be an index into "prevResult.interfaces" (${has}), not ${entry.interface}`);
    }
  });
  return result;
}

function parseRuntimeConfig(rc: unknown): CniNetConf['runtime'] {
  const out: CniNetConf['runtime'] = { ports: [], ips: [], mac: undefined };
  if (rc === undefined) return out;
  if (!isObject(rc)) throw invalid('"runtimeConfig" must be an object');
  const pm = rc['portMappings'];
  if (pm !== undefined) {
    if (!Array.isArray(pm)) throw invalid('"runtimeConfig.portMappings" must be a list');
    out.ports = pm.map((m, i) => parsePortMapping(m, i));
  }
  const ips = rc['ips'];
  if (ips !== undefined) {
    if (!Array.isArray(ips) || !ips.every((s): s is string => typeof s === 'string')) throw invalid('"runtimeConfig.ips" must be a list of strings');
    out.ips = ips;
  }
  const mac = rc['mac'];
  if (mac !== undefined) {
    if (typeof mac !== 'string') throw invalid('"runtimeConfig.mac" must be a string');
    out.mac = mac;
  }
  // "aliases" is accepted for the DNS to come; nothing else uses it yet.
  return out;
}

function parsePortMapping(m: unknown, i: number): PortSpec {
  const where = `runtimeConfig.portMappings[${i}]`;
  if (!isObject(m)) throw invalid(`"${where}" must be an object`);
  const hostPort = portField(m, 'hostPort', where);
  const containerPort = portField(m, 'containerPort', where);
  const protocol = (m['protocol'] ?? 'tcp') as unknown;
  if (protocol !== 'tcp' && protocol !== 'udp') throw invalid(`"${where}.protocol" must be "tcp" or "udp"`);
  const hostIP = m['hostIP'];
  if (hostIP !== undefined && typeof hostIP !== 'string') throw invalid(`"${where}.hostIP" must be a string`);
  const spec: PortSpec = { protocol, hostPort, containerPort };
  if (hostIP !== undefined && hostIP !== '') spec.hostIp = hostIP;
  return spec;
}

function portField(m: Json, key: string, where: string): number {
  const port = m[key];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`"${where}.${key}" must be a port number from 1 to 65535, not ${describeValue(port)}`);
  }
  return port;
}

function parseValidAttachments(v: unknown): CniAttachmentRef[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid('"cni.dev/valid-attachments" must be a list');
  return v.map((a, i) => {
    if (!isObject(a) || typeof a['containerID'] !== 'string' || typeof a['ifname'] !== 'string') {
      throw invalid(`"cni.dev/valid-attachments[${i}]" needs string containerID and ifname`);
    }
    return { containerID: a['containerID'], ifname: a['ifname'] };
  });
}

/** Refuse a cniVersion ctnet-cni does not speak (code 1). */
export function checkVersion(version: string): void {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(
      CNI_ERR.INCOMPATIBLE_VERSION,
      'incompatible CNI version',
      `cniVersion "${version}" is not supported; supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
}

export interface CniArgs {
  ip: string[];
  mac: string | undefined;
}

/**
 * CNI_ARGS: `K=V;K2=V2`. ctnet knows IP (comma-separated addresses) and MAC; any other key is an
 * error unless IgnoreUnknown is set (as runtimes do when they pass their own keys).
 */
export function parseCniArgs(text: string | undefined): CniArgs {
  const out: CniArgs = { ip: [], mac: undefined };
  if (text === undefined || text === '') return out;
  const pairs = text.split(';').filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERR.INVALID_ENV, 'invalid CNI_ARGS', `"${p}" is not KEY=VALUE`);
    return [p.slice(0, eq), p.slice(eq + 1)] as const;
  });
  const ignoreUnknown = pairs.some(([k, v]) => k === 'IgnoreUnknown' && ['1', 'true', 'True'].includes(v));
  for (const [key, value] of pairs) {
    if (key === 'IP') out.ip = value.split(',').filter((s) => s !== '');
    else if (key === 'MAC') out.mac = value;
    else if (key !== 'IgnoreUnknown' && !ignoreUnknown) {
      throw new CniError(CNI_ERR.INVALID_ENV, 'invalid CNI_ARGS', `unknown key "${key}" in CNI_ARGS (set IgnoreUnknown=1 to ignore it)`);
    }
  }
  return out;
}
