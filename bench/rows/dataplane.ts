/**
 * Data plane: what a packet pays on a ctnet bridge network against the same topology built by hand
 * with `ip` (a bridge holding the gateway, two containers on veths, default routes). iperf3 TCP
 * throughput for 5 s (`-J`) container -> container and container -> gateway (a server on the host
 * bound to the gateway address), and ping RTT (`ping -c 50 -i 0.01`) on the same two paths. Four
 * rounds, ctnet and hand-built alternating (ABBA ABBA), so a drift in the machine's load weighs on both.
 * Throughput samples are iperf3's one-second intervals; RTT samples are single echo replies.
 * @module
 */
import { join } from 'node:path';
import { Ctnet } from '../../src/index.js';
import { median } from '../stats.js';
import { toolSkipReason } from '../tools.js';
import type { Group, GroupContext } from '../types.js';
import { type Cleanup, ip, ownNetns, sh, startBackground, withCleanup } from '../util.js';

const SECONDS = 5;
const PINGS = 50;
const ROUNDS = 4;

interface Topology {
  label: 'ctnet' | 'hand';
  a: string;
  b: string;
  aIp: string;
  gateway: string;
}

async function ctnetTopology(ctx: GroupContext, c: Cleanup): Promise<Topology> {
  const ct = Ctnet.open({ stateDir: join(ctx.dir, 'ctnet') });
  c.push('close library', () => { ct.close(); });
  await ct.createNetwork({ name: 'dpct', subnets: ['10.115.0.0/16'], bridge: 'bb-dpct' });
  c.push('remove network dpct', () => ct.removeNetwork('dpct'));
  ownNetns(c, ['dpa', 'dpb']);
  const a = await ct.connect('dpct', 'dpa');
  c.push('disconnect dpa', () => ct.disconnect('dpct', 'dpa'));
  await ct.connect('dpct', 'dpb');
  c.push('disconnect dpb', () => ct.disconnect('dpct', 'dpb'));
  const aIp = a.addresses[0]?.split('/')[0];
  if (aIp === undefined) throw new Error('ctnet gave dpa no address');
  return { label: 'ctnet', a: 'dpa', b: 'dpb', aIp, gateway: a.gateways[0] ?? '10.115.0.1' };
}

function handTopology(c: Cleanup): Topology {
  ip('link', 'add', 'bb-dphand', 'type', 'bridge');
  c.push('delete bridge bb-dphand', () => { ip('link', 'del', 'bb-dphand'); });
  ip('addr', 'add', '10.116.0.1/16', 'dev', 'bb-dphand');
  ip('link', 'set', 'bb-dphand', 'up');
  ownNetns(c, ['dha', 'dhb']);
  for (const [i, ns] of ['dha', 'dhb'].entries()) {
    const host = `dhv${i}`;
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    c.push(`delete ${host}`, () => { ip('link', 'del', host); });
    ip('link', 'set', host, 'master', 'bb-dphand');
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'addr', 'add', `10.116.0.${i + 2}/16`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', '10.116.0.1');
  }
  return { label: 'hand', a: 'dha', b: 'dhb', aIp: '10.116.0.2', gateway: '10.116.0.1' };
}

interface IperfJson {
  intervals?: { sum?: { bits_per_second?: number } }[];
  end?: { sum_received?: { bits_per_second?: number } };
  error?: string;
}

/** One iperf3 run: server in `serverNs` (undefined: the host) on `serverIp`, client in `clientNs`. */
async function iperf(serverNs: string | undefined, serverIp: string, clientNs: string, port: number): Promise<{ intervals: number[]; average: number }> {
  const srv = await startBackground(serverNs, 'iperf3', ['-s', '-1', '-B', serverIp, '-p', String(port), '--forceflush'], 'Server listening');
  try {
    const out = sh('ip', ['netns', 'exec', clientNs, 'iperf3', '-c', serverIp, '-p', String(port), '-t', String(SECONDS), '-J']);
    const j = JSON.parse(out) as IperfJson;
    if (j.error !== undefined) throw new Error(`iperf3: ${j.error}`);
    const intervals = (j.intervals ?? []).map((x) => (x.sum?.bits_per_second ?? Number.NaN) / 1e9);
    return { intervals, average: (j.end?.sum_received?.bits_per_second ?? Number.NaN) / 1e9 };
  } finally {
    await srv.stop();
  }
}

/** `ping -c PINGS -i 0.01` from `ns`: each reply's RTT in ms. */
function ping(ns: string, target: string): number[] {
  const out = sh('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', String(PINGS), '-i', '0.01', '-W', '1', target]);
  return [...out.matchAll(/time=([0-9.]+) ms/g)].map((m) => Number(m[1]));
}

export const dataplaneGroup: Group = {
  name: 'dataplane',
  describe: `iperf3 TCP ${SECONDS} s and ping RTT, container->container and container->gateway, ctnet against hand-built`,
  async run(ctx) {
    const missing = toolSkipReason('iperf3') ?? toolSkipReason('ping');
    if (missing !== undefined) {
      ctx.skip('dataplane', missing);
      return;
    }
    await withCleanup(async (c) => {
      const topologies = [await ctnetTopology(ctx, c), handTopology(c)];
      const data = new Map<string, { samples: number[]; averages: number[] }>();
      const put = (key: string, samples: number[], average?: number): void => {
        const d = data.get(key) ?? { samples: [], averages: [] };
        d.samples.push(...samples);
        if (average !== undefined) d.averages.push(average);
        data.set(key, d);
      };
      let port = 5201;
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? topologies : [...topologies].reverse();
        for (const t of order) {
          ctx.log(`round ${round + 1}: ${t.label}`);
          const c2c = await iperf(t.a, t.aIp, t.b, port++);
          put(`${t.label}.c2c.tput`, c2c.intervals, c2c.average);
          const c2gw = await iperf(undefined, t.gateway, t.a, port++);
          put(`${t.label}.c2gw.tput`, c2gw.intervals, c2gw.average);
          put(`${t.label}.c2c.rtt`, ping(t.b, t.aIp));
          put(`${t.label}.c2gw.rtt`, ping(t.a, t.gateway));
        }
      }
      const label = { ctnet: 'ctnet bridge', hand: 'hand-built (ip)' } as const;
      for (const t of topologies) {
        for (const path of ['c2c', 'c2gw'] as const) {
          const where = path === 'c2c' ? 'container->container' : 'container->gateway';
          const tput = data.get(`${t.label}.${path}.tput`);
          const rtt = data.get(`${t.label}.${path}.rtt`);
          if (tput !== undefined) {
            ctx.add({
              id: `dataplane.${t.label}.${path}.tput`,
              name: `${label[t.label]}: iperf3 TCP ${where}`,
              unit: 'Gbit/s',
              samples: tput.samples,
              note: `1-s intervals of ${ROUNDS} x ${SECONDS}-s runs; run averages ${tput.averages.map((x) => x.toFixed(2)).join(', ')}`,
              extra: { runAverageMedianGbps: median(tput.averages) },
            });
          }
          if (rtt !== undefined) {
            ctx.add({ id: `dataplane.${t.label}.${path}.rtt`, name: `${label[t.label]}: ping RTT ${where}`, unit: 'ms', samples: rtt.samples, note: `${ROUNDS} x ping -c ${PINGS} -i 0.01` });
          }
        }
      }
    });
  },
};
