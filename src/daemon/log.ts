/**
 * The agent's log: one line per change, on stderr or in a file (reopened on SIGHUP, for logrotate),
 * as text for people or as JSON lines. What changes is heard from the engine's events, never told
 * from inside the engine.
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { fromSystemError } from '../errors.js';
import { type Ctnet, describeHostChange, describeSysctlChange, type Endpoint, type HostChange, type Network, type SysctlChange } from '../index.js';

export interface AgentLogOptions {
  /** JSON lines instead of text. */
  json: boolean;
  /** Append to this file instead of writing to stderr. */
  file?: string;
}

/** Fields of a JSON log line beside `time`, `event` and `msg`. */
type Fields = Readonly<Record<string, unknown>>;

export class AgentLog {
  readonly #json: boolean;
  readonly #file: string | undefined;
  #fd: number | undefined;

  constructor(options: AgentLogOptions) {
    this.#json = options.json;
    this.#file = options.file;
    this.#fd = this.#file === undefined ? undefined : openLog(this.#file);
  }

  /** Open the log file again (after logrotate moved it); nothing for stderr. */
  reopen(): void {
    if (this.#file === undefined) return;
    const fd = openLog(this.#file);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = fd;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** One line: `TIME MESSAGE`, or `{"time","event","msg",...fields}`. */
  write(event: string, message: string, fields: Fields = {}): void {
    const time = new Date().toISOString();
    const line = this.#json ? `${JSON.stringify({ time, event, msg: message, ...fields })}\n` : `${time} ${message}\n`;
    if (this.#fd === undefined) process.stderr.write(line);
    else writeSync(this.#fd, line);
  }

  /** Log every change `ct` announces. */
  follow(ct: Ctnet): void {
    ct.on('network-created', (n) => { this.write('network-created', `network "${n.name}" created: ${describeNetwork(n)}`, { network: n.name, id: n.id }); });
    ct.on('network-removed', (n) => { this.write('network-removed', `network "${n.name}" removed`, { network: n.name, id: n.id }); });
    ct.on('endpoint-connected', (e) => { this.write('endpoint-connected', `"${e.container}" connected to network "${e.network}": ${describeEndpoint(e)}`, endpointFields(e)); });
    ct.on('endpoint-disconnected', (e) => { this.write('endpoint-disconnected', `"${e.container}" disconnected from network "${e.network}"`, endpointFields(e)); });
  }

  hostChange(change: HostChange): void {
    this.write('host-changed', describeHostChange(change), { ...change });
  }

  sysctl(change: SysctlChange): void {
    this.write('sysctl-changed', describeSysctlChange(change), { ...change });
  }
}

function openLog(file: string): number {
  try {
    return openSync(file, 'a', 0o600);
  } catch (err) {
    throw fromSystemError(`open log file ${file}`, err);
  }
}

function describeNetwork(n: Network): string {
  return [n.driver, ...(n.bridge === null ? [] : [`bridge ${n.bridge}`]), ...n.subnets.map((s) => s.subnet)].join(', ');
}

function describeEndpoint(e: Endpoint): string {
  return [e.ifname, ...e.addresses, `host end ${e.hostIfname}`, ...(e.ports.length === 0 ? [] : [`${e.ports.length} published port(s)`])].join(', ');
}

function endpointFields(e: Endpoint): Fields {
  return { network: e.network, container: e.container, owner: e.owner, ifname: e.ifname, addresses: e.addresses, hostIfname: e.hostIfname, id: e.id };
}
