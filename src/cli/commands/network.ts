/** `ctnet network create|rm|ls|inspect`. @module */
import { InvalidOptionArgumentError } from '@commander-js/extra-typings';
import type { Network } from '../../index.js';
// The driver names module is re-exported by index.js and has no imports: light enough for start-up.
import { type DriverName, driverNamesText, isDriverName } from '../../network/driver-names.js';
import { printJson, printTable } from '../output.js';
import { type Program, withEngine } from '../program.js';

// No default value: commander counts a default as given, and --subnet is required.
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseMtu(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidOptionArgumentError(`expected a number, got "${value}"`);
  return Number(value);
}

function parseDriver(value: string): DriverName {
  if (!isDriverName(value)) throw new InvalidOptionArgumentError(`expected ${driverNamesText()}, got "${value}"`);
  return value;
}

function mode(n: Network): string {
  return n.internal ? 'internal' : n.nat ? 'nat' : 'routed';
}

function networkRow(n: Network): string[] {
  return [n.name, n.driver, n.subnets.map((s) => s.subnet).join(','), n.subnets.map((s) => s.gateway).join(','), n.bridge ?? '-', mode(n)];
}

const NETWORK_HEADERS = ['NAME', 'DRIVER', 'SUBNETS', 'GATEWAYS', 'BRIDGE', 'MODE'];

export function register(program: Program): void {
  const network = program.command('network').description('manage networks');
  network
    .command('create')
    .description('create a network')
    .argument('<name>')
    .requiredOption('--subnet <cidr>', 'subnet (repeat once for the other IP family)', collect)
    .option('--gateway <ip>', 'gateway address (default: the first host address)')
    .option('--driver <driver>', driverNamesText(), parseDriver, 'bridge' as DriverName)
    .option('--bridge <ifname>', 'Linux bridge name (bridge driver)')
    .option('--mtu <n>', 'MTU of the bridge and veths', parseMtu)
    .option('--no-nat', 'route the subnet without masquerading it')
    .option('--internal', 'let nothing leave the network')
    .action(async (name, opts, cmd) => {
      const g = cmd.optsWithGlobals();
      const net = await withEngine(g, (ct) =>
        ct.createNetwork({
          name,
          subnets: opts.subnet,
          driver: opts.driver,
          internal: opts.internal === true,
          // `opts.nat` is true unless --no-nat was given; passing that default on would turn a plain
          // `--internal` into "internal and masqueraded", which the library refuses.
          ...(opts.nat ? {} : { nat: false }),
          ...(opts.gateway === undefined ? {} : { gateway: opts.gateway }),
          ...(opts.bridge === undefined ? {} : { bridge: opts.bridge }),
          ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }),
        }),
      );
      if (g.json === true) printJson(net);
      else printTable(NETWORK_HEADERS, [networkRow(net)]);
    });
  network
    .command('rm')
    .alias('remove')
    .description('remove a network that has no endpoints')
    .argument('<name>')
    .action(async (name, _opts, cmd) => {
      await withEngine(cmd.optsWithGlobals(), (ct) => ct.removeNetwork(name));
    });
  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .action(async (_opts, cmd) => {
      const g = cmd.optsWithGlobals();
      const nets = await withEngine(g, (ct) => ct.listNetworks());
      if (g.json === true) printJson(nets);
      else printTable(NETWORK_HEADERS, nets.map(networkRow));
    });
  network
    .command('inspect')
    .description('show a network and its endpoints')
    .argument('<name>')
    .action(async (name, _opts, cmd) => {
      const g = cmd.optsWithGlobals();
      const details = await withEngine(g, (ct) => ct.inspectNetwork(name));
      if (g.json === true) {
        printJson(details);
        return;
      }
      const lines = [
        ['Name', details.name],
        ['Id', details.id],
        ['Driver', details.driver],
        ['Bridge', details.bridge ?? '-'],
        ['Subnets', details.subnets.map((s) => `${s.subnet} (gateway ${s.gateway})`).join(', ')],
        ['MTU', String(details.mtu)],
        ['Mode', mode(details)],
        ['Created', details.created],
      ];
      process.stdout.write(`${lines.map(([k, v]) => `${`${k ?? ''}:`.padEnd(9)}${v ?? ''}`).join('\n')}\n`);
      if (details.sysctls.length > 0) {
        process.stdout.write('\n');
        printTable(['SYSCTL', 'VALUE', 'NEEDS', 'WHY'], details.sysctls.map((s) => [s.key, s.value ?? '-', s.want, s.why]));
      }
      if (details.endpoints.length > 0) {
        process.stdout.write('\n');
        printTable(
          ['CONTAINER', 'IFNAME', 'ADDRESSES', 'MAC', 'HOST IFNAME'],
          details.endpoints.map((e) => [e.container, e.ifname, e.addresses.join(','), e.mac, e.hostIfname]),
        );
      }
    });
}
