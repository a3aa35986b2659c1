/**
 * Plays the container runtime for CNI plugins (SPEC.md section 3): each plugin is exec'd with
 * CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_PATH in a reduced environment and its
 * request config on stdin. A network config list runs ADD in order, each plugin getting the previous
 * result, and DEL in reverse with the final ADD result; runtime arguments (`portMappings`) go to the
 * plugins whose capabilities ask for them.
 * @module
 */
import { join } from 'node:path';
import { CNI_DIR } from './tools.js';
import { runSync } from './util.js';

export type Json = Record<string, unknown>;

/** One plugin of a conflist: its `type`, `capabilities`, and its own keys. */
export interface PluginConf extends Json {
  type: string;
  capabilities?: Record<string, boolean>;
}

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
  /** Capability arguments, e.g. `{ portMappings: [...] }`. */
  capabilityArgs?: Json;
}

/** Where each `type` is found; anything not listed is looked up in CNI_DIR. */
export type PluginPaths = Record<string, string>;

/** The config a runtime sends one plugin of the list for one attachment, as JSON. */
export function requestConfig(list: ConfList, plugin: PluginConf, att: Attachment, prevResult: Json | undefined): Json {
  const { capabilities, ...rest } = plugin;
  const out: Json = { ...rest, cniVersion: list.cniVersion, name: list.name };
  const runtimeConfig = Object.fromEntries(Object.entries(att.capabilityArgs ?? {}).filter(([k]) => capabilities?.[k] === true));
  if (Object.keys(runtimeConfig).length > 0) out['runtimeConfig'] = runtimeConfig;
  if (prevResult !== undefined) out['prevResult'] = prevResult;
  return out;
}

/**
 * Exec one plugin once; its parsed stdout (the result), or an error with the plugin's error JSON.
 * `extraEnv` is added to the runtime's reduced environment (ctnet's CTNET_SOCKET).
 */
export function execPlugin(path: string, command: 'ADD' | 'DEL', att: Attachment, config: Json, extraEnv: NodeJS.ProcessEnv = {}): Json | undefined {
  const env: NodeJS.ProcessEnv = {
    ...extraEnv,
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: att.containerId,
    CNI_NETNS: att.netns,
    CNI_IFNAME: att.ifname,
    CNI_PATH: CNI_DIR,
  };
  const r = runSync(path, [], { env, input: JSON.stringify(config) });
  if (r.status !== 0) throw new Error(`${path} ${command} ${att.containerId} exited with ${r.status}: ${(r.stdout + r.stderr).trim()}`);
  const out = r.stdout.trim();
  return out === '' ? undefined : (JSON.parse(out) as Json);
}

/** A conflist executor with one attachment's cached result, as a runtime keeps it between ADD and DEL. */
export class ConfListRunner {
  readonly #list: ConfList;
  readonly #paths: PluginPaths;
  readonly #env: NodeJS.ProcessEnv;
  readonly #results = new Map<string, { att: Attachment; result: Json | undefined }>();

  /** `env`: variables every plugin exec gets on top of the runtime's reduced environment. */
  constructor(list: ConfList, paths: PluginPaths = {}, env: NodeJS.ProcessEnv = {}) {
    this.#list = list;
    this.#paths = paths;
    this.#env = env;
  }

  #path(type: string): string {
    return this.#paths[type] ?? join(CNI_DIR, type);
  }

  add(att: Attachment): Json | undefined {
    let prev: Json | undefined;
    for (const plugin of this.#list.plugins) {
      prev = execPlugin(this.#path(plugin.type), 'ADD', att, requestConfig(this.#list, plugin, att, prev), this.#env);
    }
    this.#results.set(att.containerId, { att, result: prev });
    return prev;
  }

  del(att: Attachment): void {
    const prev = this.#results.get(att.containerId)?.result;
    for (const plugin of [...this.#list.plugins].reverse()) {
      execPlugin(this.#path(plugin.type), 'DEL', att, requestConfig(this.#list, plugin, att, prev), this.#env);
    }
    this.#results.delete(att.containerId);
  }

  /** Attachments added and not deleted yet (for cleanup after a failure). */
  pending(): Attachment[] {
    return [...this.#results.values()].map((r) => r.att);
  }
}
