/**
 * `node tcp-connects.js HOST PORT COUNT`: COUNT sequential TCP connections to HOST:PORT, each
 * closed as soon as it is established. Prints `{"samples_us":[...]}`: the time from `connect()` to
 * the connection being established, in microseconds (one SYN, SYN-ACK, ACK through whatever DNAT
 * the path has). Run as its own process so the benchmark's heap does not disturb the timing.
 * @module
 */
import { connect } from 'node:net';

const [host = '127.0.0.1', portText = '0', countText = '0'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);

function once(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const s = connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    }, 3000);
    s.once('connect', () => {
      const us = Number(process.hrtime.bigint() - t) / 1e3;
      clearTimeout(timer);
      s.destroy();
      resolve(us);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const samples: number[] = [];
for (let i = 0; i < 20; i++) await once(); // warm-up: JIT, ARP/neighbour entries
for (let i = 0; i < count; i++) samples.push(await once());
process.stdout.write(`${JSON.stringify({ samples_us: samples })}\n`);
