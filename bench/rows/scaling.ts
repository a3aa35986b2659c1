/**
 * How connect scales with what a network already holds.
 *
 * Endpoints: one bridge network (a /16) filled to 10, 100, 500 and 1000 endpoints; at each level N
 * probe containers are connected and disconnected one at a time (so the bridge never holds more
 * than 1001 ports). A Linux bridge takes at most 1023 ports (BR_MAX_PORTS 1024, port 0 reserved):
 * after the 1000 level the network is filled further until a connect fails, and what ctnet did
 * (error, rollback) goes into the notes.
 *
 * Published ports: a network with a server container publishing one port, then other endpoints
 * publishing port ranges (99, then 900) up to 100 and 1000 ports in all; at 1, 100 and 1000
 * published, N probe connects with one port each. 2000 sequential TCP connects from the sandbox host
 * to 127.0.0.1:PORT (DNAT to the server), in 40 rounds alternating between 1 and 1000 published,
 * measure what a new connection pays for the port lookup.
 * @module
 */
import { join } from 'node:path';
import { Ctnet } from '../../src/index.js';
import { median, msSince } from '../stats.js';
import type { Group, GroupContext } from '../types.js';
import { clientScript, errorText, names, ownNetns, runSync, sh, startBackground, withCleanup } from '../util.js';

const ENDPOINT_LEVELS = [10, 100, 500, 1000] as const;
/** Connects past the 1000 level, looking for the bridge's port limit. */
const PORT_LIMIT_TRIES = 1030;
const TCP_CONNECTS = 2000;
/** Alternations between 1 and 1000 published ports for the per-connection check. */
const TCP_ROUNDS = 40;
const SERVER_PORT = 30000;
const PROBE_PORT_BASE = 31000;

function hostVeths(): number {
  return sh('ip', ['-o', 'link', 'show', 'type', 'veth']).split('\n').filter((l) => l.trim() !== '').length;
}

/**
 * The kernel's share: ctnet's attach done by hand on ctnet's own bridge at the same fill level,
 * one `ip` process per rtnetlink request, container side under `nsenter --net` (veth created with its peer in the container and the host
 * end enslaved and up, as ctnet does; then lo, eth0, address, default route), each request timed.
 * Addresses come from 10.113.200.0/24, far from what ctnet hands out. Returns the step medians.
 */
function ipReference(ctx: GroupContext, level: number, probes: readonly string[]): string {
  const steps: Record<string, number[]> = { veth: [], 'eth0 up': [], address: [], route: [], 'lo up': [], total: [], del: [] };
  const timed = (step: string, cmd: string, args: string[]): void => {
    const t = process.hrtime.bigint();
    sh(cmd, args);
    steps[step]?.push(msSince(t));
  };
  for (const [i, ns] of probes.entries()) {
    const host = `sqv${i}`;
    // `nsenter --net` rather than `ip -n`: `ip -n` also unshares a mount namespace, which copies
    // every /run/netns mount (1000+ here) and would make the reference grow for its own reasons.
    const inside = ['--net=/run/netns/' + ns, 'ip'];
    const t = process.hrtime.bigint();
    timed('veth', 'ip', ['link', 'add', host, 'master', 'bb-scale', 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    timed('eth0 up', 'nsenter', [...inside, 'link', 'set', 'eth0', 'up']);
    timed('address', 'nsenter', [...inside, 'addr', 'add', `10.113.200.${(i % 250) + 2}/16`, 'dev', 'eth0']);
    timed('route', 'nsenter', [...inside, 'route', 'add', 'default', 'via', '10.113.0.1']);
    timed('lo up', 'nsenter', [...inside, 'link', 'set', 'lo', 'up']);
    steps['total']?.push(msSince(t));
    timed('del', 'ip', ['link', 'del', host]);
  }
  ctx.add({ id: `scaling.ip-${level}.add`, name: `kernel ref (ip per request), ${level} endpoints`, unit: 'ms', samples: steps['total'] ?? [], note: '5 `ip` processes (4 under nsenter), same bridge' });
  return Object.entries(steps).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(', ');
}

async function endpointScaling(ctx: GroupContext): Promise<void> {
  await withCleanup(async (c) => {
    // The engine's step hook splits each probe connect into its steps (state, veth, address, route).
    let marks: [string, bigint][] | undefined;
    const ct = Ctnet.open({ stateDir: join(ctx.dir, 'endpoints'), onStep: (step) => void marks?.push([step, process.hrtime.bigint()]) });
    c.push('close library', () => { ct.close(); });
    const net = 'scale';
    const stepSummary: string[] = [];
    const ipSummary: string[] = [];
    await ct.createNetwork({ name: net, subnets: ['10.113.0.0/16'], bridge: 'bb-scale' });
    c.push(`remove network ${net}`, () => ct.removeNetwork(net));
    const fillers = names('sf', PORT_LIMIT_TRIES);
    const probes = names('sp', ctx.n);
    const ipProbes = names('sq', ctx.n);
    ownNetns(c, [...fillers, ...probes, ...ipProbes]);
    c.push('delete reference veths', () => {
      for (let i = 0; i < ipProbes.length; i++) runSync('ip', ['link', 'del', `sqv${i}`]);
    });
    const connected: string[] = [];
    c.push('disconnect every endpoint', async () => {
      const t = process.hrtime.bigint();
      const count = connected.length;
      while (connected.length > 0) {
        await ct.disconnect(net, connected[connected.length - 1] ?? '');
        connected.pop();
      }
      if (count > 0) ctx.log(`disconnected ${count} endpoints in ${(msSince(t) / 1000).toFixed(1)} s`);
    });
    const fillTo = async (level: number): Promise<number> => {
      const t = process.hrtime.bigint();
      while (connected.length < level) {
        const ns = fillers[connected.length] ?? '';
        await ct.connect(net, ns);
        connected.push(ns);
      }
      return msSince(t);
    };
    for (const level of ENDPOINT_LEVELS) {
      const fillMs = await fillTo(level);
      const add: number[] = [];
      const del: number[] = [];
      const steps = new Map<string, number[]>();
      for (const ns of probes) {
        let t = process.hrtime.bigint();
        marks = [['start', t]];
        await ct.connect(net, ns);
        const end = process.hrtime.bigint();
        add.push(Number(end - t) / 1e6);
        marks.push(['end', end]);
        for (let k = 1; k < marks.length; k++) {
          const [name, at] = marks[k] ?? ['', 0n];
          const prev = marks[k - 1]?.[1] ?? at;
          steps.set(name, [...(steps.get(name) ?? []), Number(at - prev) / 1e6]);
        }
        marks = undefined;
        t = process.hrtime.bigint();
        await ct.disconnect(net, ns);
        del.push(msSince(t));
      }
      const stepMedians = Object.fromEntries([...steps.entries()].map(([k, v]) => [`ms until step ${k}`, Number(median(v).toFixed(3))]));
      stepSummary.push(`@${level}: ${[...steps.entries()].map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(', ')}`);
      ctx.add({
        id: `scaling.endpoints-${level}.add`,
        name: `connect, ${level} endpoints on the network`,
        unit: 'ms',
        samples: add,
        note: `filling to ${level} took ${(fillMs / 1000).toFixed(1)} s`,
        extra: stepMedians,
      });
      ctx.add({ id: `scaling.endpoints-${level}.del`, name: `disconnect, ${level} endpoints on the network`, unit: 'ms', samples: del });
      ipSummary.push(`@${level}: ${ipReference(ctx, level, ipProbes)}`);
    }
    ctx.note(`ctnet connect time by step (median ms since the previous step; 'end' = after the last step to return): ${stepSummary.join(' | ')}`);
    ctx.note(`kernel reference, the same attach with one \`ip\` per request on the same bridge (median ms per request, each including ~3 ms of process start): ${ipSummary.join(' | ')}`);
    // The bridge's port limit: fill on until ctnet refuses, and check it left nothing half-made.
    const vethsBefore = hostVeths();
    let limit = 'no failure';
    while (connected.length < PORT_LIMIT_TRIES) {
      const ns = fillers[connected.length] ?? '';
      const before = { veths: hostVeths(), endpoints: ct.listEndpoints().length };
      const t = process.hrtime.bigint();
      try {
        await ct.connect(net, ns);
        connected.push(ns);
      } catch (err) {
        const ms = msSince(t);
        const after = { veths: hostVeths(), endpoints: ct.listEndpoints().length };
        const inside = sh('ip', ['-n', ns, '-o', 'link', 'show']).split('\n').filter((l) => l.trim() !== '').length;
        const clean = after.veths === before.veths && after.endpoints === before.endpoints && inside === 1;
        limit =
          `connect #${connected.length + 1} (bridge ports in use: ${connected.length}) failed after ${ms.toFixed(1)} ms: "${errorText(err)}"; ` +
          (clean ? 'rolled back cleanly (no veth, no endpoint, nothing in the container)' : `LEFT BEHIND: host veths ${before.veths}->${after.veths}, endpoints ${before.endpoints}->${after.endpoints}, links in container ${inside}`);
        // One more try: the same error again, not a different one (a leaked address, say).
        const again = fillers[connected.length + 1] ?? '';
        try {
          await ct.connect(net, again);
          connected.push(again);
          limit += '; the next connect SUCCEEDED';
        } catch (err2) {
          const errno = (e: unknown): string => /failed: (E[A-Z0-9]+)/.exec(errorText(e))?.[1] ?? errorText(e);
          limit += errno(err2) === errno(err) ? '; the next connect fails the same way' : `; the next connect fails differently: "${errorText(err2)}"`;
        }
        break;
      }
    }
    ctx.note(`bridge port limit (BR_MAX_PORTS 1024): ${limit} [${vethsBefore} veths on the host at the 1000 level]`);
  });
}

/** `node tcp-connects.js` from the sandbox host: per-connection setup time in microseconds. */
function tcpConnects(host: string, port: number, count: number): number[] {
  const out = sh(process.execPath, [clientScript('tcp-connects'), host, String(port), String(count)]);
  return (JSON.parse(out) as { samples_us: number[] }).samples_us;
}

async function portScaling(ctx: GroupContext): Promise<void> {
  await withCleanup(async (c) => {
    const ct = Ctnet.open({ stateDir: join(ctx.dir, 'ports') });
    c.push('close library', () => { ct.close(); });
    const net = 'scalep';
    await ct.createNetwork({ name: net, subnets: ['10.114.0.0/16'], bridge: 'bb-scalep' });
    c.push(`remove network ${net}`, () => ct.removeNetwork(net));
    // Two fillers publish ranges below the ephemeral port range: 99 ports, then 900. Two endpoints
    // make switching between 1 and 1000 published cheap enough to alternate many times.
    const fillerPorts: [number, number][] = [[20000, 99], [20100, 900]];
    const fillers = names('spf', fillerPorts.length);
    const probes = names('spp', ctx.n);
    const server = 'spsrv';
    ownNetns(c, [server, ...fillers, ...probes]);
    const connected: string[] = [];
    c.push('disconnect every endpoint', async () => {
      while (connected.length > 0) {
        await ct.disconnect(net, connected[connected.length - 1] ?? '');
        connected.pop();
      }
    });
    await ct.connect(net, server, { ports: [{ protocol: 'tcp', hostPort: SERVER_PORT, containerPort: 8080 }] });
    connected.push(server);
    const srv = await startBackground(server, process.execPath, [clientScript('tcp-server'), '0.0.0.0', '8080'], 'ready');
    c.push('stop tcp server', () => srv.stop());
    let published = 1;
    let next = 0;
    const fillTo = async (level: number): Promise<void> => {
      while (published < level) {
        const range = fillerPorts[next];
        const ns = fillers[next];
        if (range === undefined || ns === undefined) throw new Error(`no filler left to publish ${level} ports`);
        const [start, count] = range;
        await ct.connect(net, ns, { ports: [{ protocol: 'tcp', hostPort: start, hostPortEnd: start + count - 1, containerPort: 8000, containerPortEnd: 8000 + count - 1 }] });
        connected.push(ns);
        published += count;
        next++;
      }
    };
    // Back to the server's one port: the fillers leave, newest first.
    const emptyTo = async (): Promise<void> => {
      while (next > 0) {
        next--;
        await ct.disconnect(net, fillers[next] ?? '');
        connected.splice(connected.indexOf(fillers[next] ?? ''), 1);
        published -= fillerPorts[next]?.[1] ?? 0;
      }
    };
    // The per-connection check alternates 1 and 1000 published, TCP_ROUNDS times each with an
    // equal share of the connects, so a drift in the machine's load weighs on both sides alike.
    const rtt = new Map<number, number[]>([[1, []], [1000, []]]);
    const roundRatios: number[] = [];
    let lastOne = Number.NaN;
    const tcpRound = (level: 1 | 1000): void => {
      const samples = tcpConnects('127.0.0.1', SERVER_PORT, TCP_CONNECTS / TCP_ROUNDS);
      rtt.get(level)?.push(...samples);
      if (level === 1) lastOne = median(samples);
      else roundRatios.push(median(samples) / lastOne);
    };
    for (const level of [1, 100, 1000] as const) {
      await fillTo(level);
      const add: number[] = [];
      const del: number[] = [];
      for (const [i, ns] of probes.entries()) {
        let t = process.hrtime.bigint();
        await ct.connect(net, ns, { ports: [{ protocol: 'tcp', hostPort: PROBE_PORT_BASE + i, containerPort: 80 }] });
        add.push(msSince(t));
        t = process.hrtime.bigint();
        await ct.disconnect(net, ns);
        del.push(msSince(t));
      }
      ctx.add({ id: `scaling.ports-${level}.add`, name: `connect with 1 port, ${published} ports published`, unit: 'ms', samples: add });
      ctx.add({ id: `scaling.ports-${level}.del`, name: `disconnect with 1 port, ${published} ports published`, unit: 'ms', samples: del });
      if (level === 1 || level === 1000) tcpRound(level);
    }
    for (let round = 1; round < TCP_ROUNDS; round++) {
      await emptyTo();
      tcpRound(1);
      await fillTo(1000);
      tcpRound(1000);
    }
    for (const level of [1, 1000] as const) {
      ctx.add({
        id: `scaling.tcp-connect-${level}.rtt`,
        name: `TCP connect via published port, ${level} published`,
        unit: 'us',
        samples: rtt.get(level) ?? [],
        note: `${TCP_CONNECTS} sequential connects in ${TCP_ROUNDS} rounds alternating 1/1000, host -> 127.0.0.1:${SERVER_PORT} -> container`,
      });
    }
    ctx.add({
      id: 'scaling.tcp-connect.round-ratio',
      name: 'TCP connect via published port, 1000 / 1 published',
      unit: 'ratio',
      samples: roundRatios,
      note: 'per round: median with 1000 over median with 1 just before (paired, so load drift cancels)',
    });
    const conntrack = runSync('sh', ['-c', 'cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || true']).stdout.trim();
    if (conntrack !== '') ctx.log(`conntrack entries after the TCP runs: ${conntrack}`);
  });
}

/** A whole port range (1-65535, 131070 map elements) published and unpublished by one endpoint. */
async function wholeRange(ctx: GroupContext): Promise<void> {
  await withCleanup(async (c) => {
    const ct = Ctnet.open({ stateDir: join(ctx.dir, 'range') });
    c.push('close library', () => { ct.close(); });
    const net = 'scaler';
    await ct.createNetwork({ name: net, subnets: ['10.119.0.0/16'], bridge: 'bb-scaler' });
    c.push(`remove network ${net}`, () => ct.removeNetwork(net));
    const ns = 'sprange';
    ownNetns(c, [ns]);
    let connected = false;
    c.push(`disconnect ${ns}`, () => (connected ? ct.disconnect(net, ns) : undefined));
    const add: number[] = [];
    const del: number[] = [];
    for (let i = 0; i < Math.min(ctx.n, 5); i++) {
      let t = process.hrtime.bigint();
      await ct.connect(net, ns, { ports: [{ protocol: 'tcp', hostPort: 1, hostPortEnd: 65535, containerPort: 1, containerPortEnd: 65535 }] });
      add.push(msSince(t));
      connected = true;
      t = process.hrtime.bigint();
      await ct.disconnect(net, ns);
      del.push(msSince(t));
      connected = false;
    }
    ctx.add({ id: 'scaling.ports-all.add', name: 'connect publishing 1-65535 (every tcp port)', unit: 'ms', samples: add });
    ctx.add({ id: 'scaling.ports-all.del', name: 'disconnect of 1-65535', unit: 'ms', samples: del });
  });
}

export const scalingGroup: Group = {
  name: 'scaling',
  describe: 'connect with 10/100/500/1000 endpoints and with 1/100/1000 ports already published; port lookup per connection; a whole port range',
  async run(ctx) {
    await ctx.attempt('scaling.endpoints', () => endpointScaling(ctx));
    await ctx.attempt('scaling.ports', () => portScaling(ctx));
    await ctx.attempt('scaling.ports-all', () => wholeRange(ctx));
  },
};
