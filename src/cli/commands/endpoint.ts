/** `ctnet connect`, `ctnet disconnect` and `ctnet ls`. @module */
import type { Endpoint } from '../../index.js';
// Parsing -p needs no engine (the module imports only parsing and errors): a connect served by the
// agent loads none.
import { parsePortSpec } from '../../network/ports.js';
import { formatPorts, printJson, printTable } from '../output.js';
import { type Program, withEngine } from '../program.js';

const ENDPOINT_HEADERS = ['CONTAINER', 'NETWORK', 'IFNAME', 'ADDRESSES', 'MAC', 'STATE', 'PORTS'];

function endpointRow(e: Endpoint): string[] {
  return [e.container, e.network, e.ifname, e.addresses.join(','), e.mac, e.status, formatPorts(e.ports)];
}

export function register(program: Program): void {
  program
    .command('connect')
    .description('connect a container (named netns, netns path or pid:N) to a network')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <ip>', 'static address (repeat once for the other IP family)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--ifname <ifname>', 'interface name inside the container (default: first free ethN)')
    .option('--mac <mac>', 'MAC address of the container interface')
    .option(
      '-p, --publish <mapping>',
      'publish a port: [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|udp] (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (network, container, opts, cmd) => {
      const g = cmd.optsWithGlobals();
      const ports = opts.publish.map((p) => parsePortSpec(p));
      const ep = await withEngine(g, (ct) =>
        ct.connect(network, container, {
          ips: opts.ip,
          ports,
          ...(opts.ifname === undefined ? {} : { ifname: opts.ifname }),
          ...(opts.mac === undefined ? {} : { mac: opts.mac }),
        }),
      );
      if (g.json === true) printJson(ep);
      else printTable(ENDPOINT_HEADERS, [endpointRow(ep)]);
    });
  program
    .command('disconnect')
    .description('disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('--cni', 'disconnect an attachment a CNI runtime made; CONTAINER is its container id')
    .action(async (network, container, opts, cmd) => {
      await withEngine(cmd.optsWithGlobals(), (ct) => ct.disconnect(network, container, { owner: opts.cni === true ? 'cni' : 'cli' }));
    });
  program
    .command('ls')
    .alias('list')
    .description('list every endpoint')
    .action(async (_opts, cmd) => {
      const g = cmd.optsWithGlobals();
      const eps = await withEngine(g, (ct) => ct.listEndpoints());
      if (g.json === true) printJson(eps);
      else printTable(ENDPOINT_HEADERS, eps.map(endpointRow));
    });
}
