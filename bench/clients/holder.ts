/**
 * `node holder.js STATE_DIR NETWORK SUBNET BRIDGE NETNS_PREFIX COUNT`: a library process that creates
 * a network, connects COUNT existing named namespaces (`PREFIX0`...) and reports its memory (VmHWM
 * and VmRSS from /proc/self/status, and V8's heap) before and after, as one JSON line each; then
 * disconnects them all and removes the network. Run as its own process so that nothing else the
 * benchmark did counts in its peak.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Ctnet } from '../../src/index.js';

const [stateDir = '', network = '', subnet = '', bridge = '', prefix = '', countText = '0'] = process.argv.slice(2);
const count = Number(countText);

function memory(phase: string): void {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  const mu = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ phase, hwmKiB: kib('VmHWM'), rssKiB: kib('VmRSS'), heapUsed: mu.heapUsed, external: mu.external, arrayBuffers: mu.arrayBuffers })}\n`);
}

const ct = Ctnet.open({ stateDir });
try {
  await ct.createNetwork({ name: network, subnets: [subnet], bridge });
  memory('before');
  const connected: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      await ct.connect(network, `${prefix}${i}`);
      connected.push(`${prefix}${i}`);
    }
    memory('after');
  } finally {
    for (const ns of connected.reverse()) await ct.disconnect(network, ns);
    await ct.removeNetwork(network);
  }
  memory('done');
} finally {
  ct.close();
}
