/**
 * ctnet's CNI commands. No networking logic lives here: each command maps onto the same library
 * calls the CLI makes, and CNI attachments share the state (and address pool) with the CLI.
 * @module
 */
import { access, constants } from 'node:fs/promises';
import {
  type AttachedEndpoint,
  ConflictError,
  Ctnet,
  type Endpoint,
  errorMessage,
  formatCidr,
  formatIp,
  isNotFound,
  Netns,
  type Network,
  parseCidr,
  parseIp,
  parseNetnsRef,
  TeardownError,
  withoutPrefix,
} from '../index.js';
import { CNI_ERR, CniError, toCniError } from './errors.js';
import {
  checkVersion,
  type CniNetConf,
  type CniResult,
  type CniResultInterface,
  parseCniArgs,
  parseNetConf,
  type ParseNetConfOptions,
} from './config.js';
import type { CniCommand, CniEnv, CniHandler } from './skel.js';
import { version } from './version.js';
import { stateDirOf } from '../state/state-dir.js';

/**
 * How a command gets its engine for the state directory it names: the exec'd plugin opens one per
 * call ({@link openPerCall}); the agent lends its warm one.
 */
export type EngineScope = <T>(options: { stateDir: string }, fn: (ct: Ctnet) => Promise<T>) => Promise<T>;

/** An engine opened for the call and closed after it. */
export const openPerCall: EngineScope = (options, fn) => Ctnet.using(options, fn);

/** The engine's options for a call: where the state lives. */
function engineOptions(conf: CniNetConf, env: CniEnv['vars']): { stateDir: string } {
  // Runtimes call DEL with a reduced environment, so the config's stateDir wins over the variable.
  return { stateDir: stateDirOf(conf.stateDir, env) };
}

function sameSubnets(a: readonly string[], b: readonly string[]): boolean {
  const norm = (xs: readonly string[]): string => xs.map((x) => formatCidr(parseCidr(x))).sort().join(',');
  return norm(a) === norm(b);
}

/** Differences between the config and the network ctnet already has under that name. */
function configConflicts(conf: CniNetConf, net: Network): string[] {
  const s = conf.spec;
  const out: string[] = [];
  if (!sameSubnets(s.subnets, net.subnets.map((x) => x.subnet))) {
    out.push(`subnets ${JSON.stringify(s.subnets)} differ from the network's ${JSON.stringify(net.subnets.map((x) => x.subnet))}`);
  }
  if ((s.driver ?? 'bridge') !== net.driver) out.push(`driver "${s.driver ?? 'bridge'}" differs from "${net.driver}"`);
  if (s.bridge !== undefined && s.bridge !== net.bridge) out.push(`bridge "${s.bridge}" differs from "${net.bridge ?? ''}"`);
  if (s.gateway !== undefined && !net.subnets.some((x) => x.gateway === formatIp(parseIp(s.gateway ?? '')))) {
    out.push(`gateway "${s.gateway}" is not a gateway of the network`);
  }
  if (s.mtu !== undefined && s.mtu !== net.mtu) out.push(`mtu ${s.mtu} differs from ${net.mtu}`);
  if (s.internal !== undefined && s.internal !== net.internal) out.push(`internal ${String(s.internal)} differs`);
  if (s.nat !== undefined && !net.internal && s.nat !== net.nat) out.push(`nat ${String(s.nat)} differs`);
  return out;
}

/** The network named by the config: created on first use, else checked against the config. */
async function ensureNetwork(ct: Ctnet, conf: CniNetConf): Promise<Network> {
  // A network half-removed by a killed `network rm` is finished off and made anew by createNetwork.
  let net = ct.listNetworks().find((n) => n.name === conf.name && n.status !== 'removing');
  if (net === undefined) {
    try {
      return await ct.createNetwork(conf.spec);
    } catch (err) {
      // Another ADD created it meanwhile: check it as if it had been there.
      net = ct.listNetworks().find((n) => n.name === conf.name);
      if (!(err instanceof ConflictError)) throw err;
      // A subnet or bridge name that another network or host interface has: the config is at fault.
      if (net === undefined) throw new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', err.message);
    }
  }
  const conflicts = configConflicts(conf, net);
  if (conflicts.length > 0) {
    throw new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', `network "${conf.name}" exists with another configuration: ${conflicts.join('; ')}`);
  }
  return net;
}

/** The ADD result: host-side interfaces, the container interface, its addresses and routes. */
export function buildResult(conf: CniNetConf, net: Network, ep: AttachedEndpoint, netns: string): CniResult {
  const prev = conf.prevResult;
  const interfaces: CniResultInterface[] = [...(prev?.interfaces ?? [])];
  if (net.bridge !== null) interfaces.push({ name: net.bridge });
  interfaces.push({ name: ep.hostIfname });
  const index = interfaces.push({ name: ep.ifname, mac: ep.mac, mtu: net.mtu, sandbox: netns }) - 1;
  const gatewayOf = (address: string): string | undefined => {
    const family = parseIp(withoutPrefix(address)).family;
    return ep.gateways.find((g) => parseIp(g).family === family);
  };
  // Keys of prevResult that ctnet does not know (dns, other plugins' own) are passed on as they are.
  return {
    ...prev,
    cniVersion: conf.cniVersion,
    interfaces,
    ips: [
      ...(prev?.ips ?? []),
      ...ep.addresses.map((address) => {
        const gateway = gatewayOf(address);
        return { address, ...(gateway === undefined ? {} : { gateway }), interface: index };
      }),
    ],
    routes: [...(prev?.routes ?? []), ...ep.routes.map((r) => ({ dst: r.dst, gw: r.gateway }))],
  };
}

function parseChecked(stdin: string, options: ParseNetConfOptions = {}): CniNetConf {
  const conf = parseNetConf(stdin, options);
  checkVersion(conf.cniVersion);
  return conf;
}

const add = (scope: EngineScope): CniHandler => async (env, stdin, reply) => {
  const conf = parseChecked(stdin);
  const args = parseCniArgs(env.args);
  await scope(engineOptions(conf, env.vars), async (ct) => {
    const net = await ensureNetwork(ct, conf);
    const ips = [...conf.runtime.ips, ...args.ip].map(withoutPrefix);
    const mac = conf.runtime.mac ?? args.mac;
    const selector = { ifname: env.ifname, owner: 'cni' } as const;
    let ep: AttachedEndpoint;
    try {
      ep = await ct.connect(conf.name, env.netns, {
        containerId: env.containerId,
        ...selector,
        ips,
        ports: conf.runtime.ports,
        ...(mac === undefined ? {} : { mac }),
      });
    } catch (err) {
      // Code 3 tells the runtime there is nothing to clean up, so only a namespace that is not there
      // earns it; anything else missing (a bridge another process is still making) is ours.
      const nsMissing = await access(env.netns).then(() => false, () => true);
      if (isNotFound(err) && nsMissing) {
        throw new CniError(CNI_ERR.UNKNOWN_CONTAINER, 'container unknown', errorMessage(err));
      }
      throw err;
    }
    // An ADD that answers with an error must leave nothing behind: the runtime's DEL may never
    // reach ctnet (it stops at the first plugin of the chain whose DEL fails).
    try {
      await reply(buildResult(conf, net, ep, env.netns));
    } catch (err) {
      try {
        await ct.disconnect(conf.name, env.containerId, selector);
      } catch (undoErr) {
        const e = toCniError(err);
        throw new CniError(e.code, e.message, `${e.details ?? e.message}; disconnecting what this ADD made failed too: ${errorMessage(undoErr)}`);
      }
      throw err;
    }
  });
};

const del = (scope: EngineScope): CniHandler => async (env, stdin) => {
  const conf = parseChecked(stdin, { prevResult: 'ignore' });
  parseCniArgs(env.args);
  await scope(engineOptions(conf, env.vars), async (ct) => {
    // DEL may come many times, and after the namespace, the network or the attachment is gone.
    if (!ct.listNetworks().some((n) => n.name === conf.name)) return;
    try {
      await ct.disconnect(conf.name, env.containerId, { ifname: env.ifname, owner: 'cni' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
};

function checkFailed(details: string): CniError {
  return new CniError(CNI_ERR.INTERNAL, 'check failed', details);
}

/** CHECK: the attachment the state records is what the kernel has, and matches prevResult. */
const check = (scope: EngineScope): CniHandler => async (env, stdin) => {
  const conf = parseChecked(stdin);
  if (conf.prevResult === undefined) throw new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', 'CHECK needs prevResult');
  const prev = conf.prevResult;
  await scope(engineOptions(conf, env.vars), async (ct) => {
    // CHECK only looks: a network that is not there is a failed check, not one to create.
    if (!ct.listNetworks().some((n) => n.name === conf.name)) throw checkFailed(`network "${conf.name}" does not exist`);
    await ensureNetwork(ct, conf);
    const selector = { ifname: env.ifname, owner: 'cni' } as const;
    const ep = ct.getEndpoint(conf.name, env.containerId, selector);
    if (ep === undefined) throw checkFailed(`container "${env.containerId}" has no attachment "${env.ifname}" on network "${conf.name}"`);
    // Everything the attachment needs on the host: bridge, gateway, forwarding, firewall, ports.
    const problems = [...(await ct.checkNetwork(conf.name)), ...(await ct.checkEndpoint(conf.name, env.containerId, selector))];
    if (problems.length > 0) throw checkFailed([...new Set(problems)].join('; '));
    const ours = (prev.interfaces ?? []).findIndex((i) => i.name === env.ifname && i.sandbox !== undefined);
    if (ours === -1) throw checkFailed(`prevResult lists no interface "${env.ifname}" in a sandbox`);
    for (const ip of (prev.ips ?? []).filter((i) => i.interface === ours)) {
      if (!ep.addresses.includes(ip.address)) throw checkFailed(`address ${ip.address} of prevResult is not the attachment's (${ep.addresses.join(', ')})`);
    }
    // A later plugin in the chain (tuning) may have changed the MAC: the runtime expects the final result's.
    checkKernel(ep, env, prev.interfaces?.[ours]?.mac ?? ep.mac, prev.routes ?? []);
  });
};

/** The container side of an attachment: its interface, MAC, addresses and default routes. */
function checkKernel(ep: Endpoint, env: CniEnv, mac: string, routes: readonly { dst: string; gw?: string }[]): void {
  const ns = Netns.open(parseNetnsRef(env.netns));
  const h = ns.openHandle();
  try {
    const link = h.linkGet(env.ifname);
    if (link === undefined || !link.up) throw checkFailed(`interface ${env.ifname} is ${link === undefined ? 'missing' : 'down'} in ${env.netns}`);
    if (link.mac !== mac.toLowerCase()) throw checkFailed(`interface ${env.ifname} has MAC ${link.mac ?? '-'}, expected ${mac}`);
    const have = new Set(h.addrList({ index: link.index }).map((a) => `${formatIp(a.ip)}/${a.prefix}`));
    for (const a of ep.addresses) if (!have.has(a)) throw checkFailed(`address ${a} is missing on ${env.ifname}`);
    for (const r of routes) {
      const dst = parseCidr(r.dst);
      if (dst.prefix !== 0) continue; // only the default routes are ours to check; others may be a later plugin's
      const present = h.routeList(dst.family).some((k) => k.dst === undefined && k.oifIndex === link.index && (r.gw === undefined || (k.gateway !== undefined && formatIp(k.gateway) === formatIp(parseIp(r.gw)))));
      if (!present) throw checkFailed(`default route ${r.dst} via ${r.gw ?? '-'} is missing`);
    }
  } finally {
    h.close();
    ns.close();
  }
}

/** STATUS: ready when the state database opens and nftables can be driven. */
const status = (scope: EngineScope): CniHandler => async (env, stdin) => {
  const conf = parseChecked(stdin, { prevResult: 'ignore' });
  try {
    await scope(engineOptions(conf, env.vars), () => Promise.resolve());
  } catch (err) {
    throw new CniError(CNI_ERR.NOT_AVAILABLE, 'plugin not available', errorMessage(err));
  }
  const found = await Promise.any(['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].map((p) => access(p, constants.X_OK))).then(
    () => true,
    () => false,
  );
  if (!found) throw new CniError(CNI_ERR.NOT_AVAILABLE, 'plugin not available', 'nft (nftables) is not installed');
};

/** GC: remove every CNI attachment of the network that the runtime no longer lists. */
const gc = (scope: EngineScope): CniHandler => async (env, stdin) => {
  const conf = parseChecked(stdin, { prevResult: 'ignore' });
  const valid = conf.validAttachments;
  if (valid === undefined) throw new CniError(CNI_ERR.INVALID_CONFIG, 'invalid network configuration', 'GC needs "cni.dev/valid-attachments"');
  const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`));
  await scope(engineOptions(conf, env.vars), async (ct) => {
    if (!ct.listNetworks().some((n) => n.name === conf.name)) return;
    const stale = ct.listEndpoints().filter((e) => e.network === conf.name && e.owner === 'cni' && !keep.has(`${e.container}\n${e.ifname}`));
    const failures: unknown[] = [];
    for (const e of stale) {
      try {
        await ct.disconnect(conf.name, e.container, { ifname: e.ifname, owner: 'cni' });
      } catch (err) {
        if (!isNotFound(err)) failures.push(err);
      }
    }
    if (failures.length > 0) throw TeardownError.summarize(`gc of network "${conf.name}"`, failures);
  });
};

/** The command table, every command getting its engine from `scope`. */
export function createCniHandlers(scope: EngineScope): Record<CniCommand, CniHandler> {
  return { ADD: add(scope), DEL: del(scope), CHECK: check(scope), VERSION: version, STATUS: status(scope), GC: gc(scope) };
}

/** The command table of the exec'd plugin: an engine per call. */
export const cniHandlers = createCniHandlers(openPerCall);
