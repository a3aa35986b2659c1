/**
 * `node tcp-server.js HOST PORT`: accepts TCP connections and lets the client close them. Prints
 * `ready` once listening. Run inside a container namespace as the server behind a published port.
 * @module
 */
import { createServer } from 'node:net';

const [host = '0.0.0.0', portText = '0'] = process.argv.slice(2);
const server = createServer((s) => {
  s.on('error', () => undefined);
  s.resume();
});
server.listen(Number(portText), host, () => process.stdout.write('ready\n'));
