/**
 * podman 4.3 (Debian's) as a real CNI client: `network_backend = "cni"`, ctnet as the plugin of
 * network `ctpod`, busybox containers from an image built locally. Two containers ping each other
 * and the gateway; `-p 18080:80` reaches busybox httpd from the sandbox's loopback, from its uplink
 * address, from another host and from the other container; `podman rm -f -t 0` leaves no veth,
 * published port or IPAM row behind. A container that exits by itself is torn down by conmon's
 * cleanup, which calls DEL with a reduced environment. The configuration list README.md documents,
 * read from the file, is a network of its own: its container gets an address of each subnet, its
 * published port answers, and `podman rm -f` leaves nothing. Finally `podman run -d` / `podman rm -f -t 0`
 * are timed with ctnet and with the reference `bridge` + `host-local` + `portmap` plugins
 * side by side (printed, never asserted).
 *
 * Runs only as root inside scripts/sandbox.sh with podman installed; see test/helpers/podman.ts for
 * the private podman setup.
 */
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { cliOk, sh, withUplink } from '../helpers/sandbox.js';
import {
  CT_NET,
  ctnetContainerRows,
  ctnetPortElements,
  ctnetVeths,
  httpGet,
  httpGetFrom,
  INDEX_HTML,
  median,
  PodmanLab,
  podmanSkipReason,
  readmeConflist,
  REF_NET,
  sandboxAddressesIn,
} from '../helpers/podman.js';

const skip = podmanSkipReason();
if (skip !== undefined) console.log(`# podman.test: skipped: ${skip}`);

const HOST_PORT = 18080;
const DOC_PORT = 18081;
const BENCH_N = 10;

interface EndpointJson {
  container: string;
  network: string;
  addresses: string[];
  mac: string;
  ports: { family: number; protocol: string; hostPort: number; containerPort: number }[];
}

async function endpoints(lab: PodmanLab): Promise<EndpointJson[]> {
  return JSON.parse(await cliOk(lab.stateDir, ['--json', 'ls'])) as EndpointJson[];
}

/** Poll `fn` every 100 ms until it returns a value other than undefined, or give up after `ms`. */
async function eventually<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('podman with ctnet as its CNI plugin', { skip, timeout: 180_000 }, async (t) => {
  const lab = await PodmanLab.start();
  t.after(() => lab.close());
  // The sandbox gets a real, non-loopback address (198.51.100.2) and "another host" behind it.
  const up = await withUplink(t);

  /** `podman run -d` on the ctnet network; fails the test with podman's stderr. */
  const start = async (name: string, cmd: readonly string[], extra: readonly string[] = []): Promise<void> => {
    const r = await lab.runDetached(name, CT_NET.name, cmd, extra);
    assert.equal(r.code, 0, `podman run --name ${name}: ${r.stderr}`);
  };

  let webIp = '';
  let aIp = '';
  await t.test('two containers ping each other and the gateway', async () => {
    await start('a', ['sleep', '600']);
    await start('web', ['httpd', '-f', '-p', '80', '-h', '/www'], ['-p', `${HOST_PORT}:80`]);
    aIp = await lab.containerIp('a', CT_NET.name);
    webIp = await lab.containerIp('web', CT_NET.name);
    assert.match(aIp, /^10\.89\.0\.\d+$/);
    assert.match(webIp, /^10\.89\.0\.\d+$/);
    assert.notEqual(aIp, webIp);
    // ctnet's own record agrees with what podman reports.
    const eps = await endpoints(lab);
    assert.deepEqual(eps.map((e) => e.addresses[0]).sort(), [`${aIp}/24`, `${webIp}/24`].sort());
    assert.equal(eps.every((e) => e.network === CT_NET.name), true);

    await lab.ok(['exec', 'a', 'ping', '-c1', '-W1', webIp]);
    await lab.ok(['exec', 'web', 'ping', '-c1', '-W1', aIp]);
    await lab.ok(['exec', 'a', 'ping', '-c1', '-W1', CT_NET.gateway]);
    // The default route points at the gateway: the uplink address answers too.
    await lab.ok(['exec', 'a', 'ping', '-c1', '-W1', up.uplinkIp]);
  });

  await t.test(`-p ${HOST_PORT}:80 reaches httpd from the host side and from the other container`, async () => {
    // httpd may still be starting right after `podman run -d` returns.
    assert.equal(await eventually(() => httpGet('127.0.0.1', HOST_PORT), 3000), INDEX_HTML, 'sandbox -> 127.0.0.1');
    assert.equal(await httpGet(up.uplinkIp, HOST_PORT), INDEX_HTML, `sandbox -> ${up.uplinkIp}`);
    assert.equal(await httpGetFrom(up.world, up.uplinkIp, HOST_PORT), INDEX_HTML, `another host -> ${up.uplinkIp}`);
    const direct = await lab.run(['exec', 'a', 'timeout', '5', 'wget', '-qO-', `http://${webIp}/`]);
    assert.equal(direct.stdout, INDEX_HTML, `container a -> ${webIp}:80: ${direct.stderr}`);
    const published = await lab.run(['exec', 'a', 'timeout', '5', 'wget', '-qO-', `http://${up.uplinkIp}:${HOST_PORT}/`]);
    assert.equal(published.stdout, INDEX_HTML, `container a -> ${up.uplinkIp}:${HOST_PORT}: ${published.stderr}`);
    const viaGateway = await lab.run(['exec', 'a', 'timeout', '5', 'wget', '-qO-', `http://${CT_NET.gateway}:${HOST_PORT}/`]);
    assert.equal(viaGateway.stdout, INDEX_HTML, `container a -> ${CT_NET.gateway}:${HOST_PORT}: ${viaGateway.stderr}`);
  });

  await t.test('podman rm -f -t 0 leaves no veth, address, published port or IPAM row', async () => {
    assert.equal((await ctnetVeths()).length, 2);
    assert.notDeepEqual(await ctnetPortElements(), []);
    await lab.ok(['rm', '-f', '-t', '0', 'a', 'web']);
    assert.deepEqual(await ctnetVeths(), []);
    assert.deepEqual(await ctnetPortElements(), []);
    assert.deepEqual(await endpoints(lab), []);
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 });
    // Only the network's gateway is left in the subnet; no namespace file is left either.
    assert.deepEqual(await sandboxAddressesIn(CT_NET.subnet), [`${CT_NET.bridge} ${CT_NET.gateway}/24`]);
    assert.deepEqual(readdirSync('/run/netns').filter((f) => f.startsWith('netns-')), []);
    assert.equal(await httpGet('127.0.0.1', HOST_PORT, 500), undefined, 'the published port is gone');
    // The port is free again for the next container.
    await start('again', ['httpd', '-f', '-p', '80', '-h', '/www'], ['-p', `${HOST_PORT}:80`]);
    assert.equal(await eventually(() => httpGet('127.0.0.1', HOST_PORT), 3000), INDEX_HTML);
    await lab.ok(['rm', '-f', '-t', '0', 'again']);
    assert.deepEqual(await endpoints(lab), []);
    assert.deepEqual(await ctnetPortElements(), []);
  });

  await t.test('--ip and --mac-address arrive through CNI_ARGS', async () => {
    const ip = '10.89.0.77';
    const mac = '02:42:0a:59:00:4d';
    await start('s', ['sleep', '600'], ['--ip', ip, '--mac-address', mac]);
    assert.equal(await lab.containerIp('s', CT_NET.name), ip);
    const inside = await lab.ok(['exec', 's', 'ip', '-o', 'link', 'show', 'eth0']);
    assert.match(inside, new RegExp(`link/ether ${mac} `));
    const eps = await endpoints(lab);
    assert.deepEqual(eps.map((e) => [e.addresses, e.mac]), [[[`${ip}/24`], mac]]);
    await lab.ok(['rm', '-f', '-t', '0', 's']);
    assert.deepEqual(await endpoints(lab), []);
  });

  await t.test("a container that exits by itself is torn down by conmon's cleanup (reduced environment)", async () => {
    await start('brief', ['sleep', '2'], ['-p', `${HOST_PORT}:80`]);
    assert.equal((await endpoints(lab)).length, 1);
    const gone = await eventually(async () => ((await endpoints(lab)).length === 0 ? true : undefined), 8000);
    assert.equal(gone, true, 'the endpoint is still there 8 s after the container exited');
    assert.deepEqual(await ctnetVeths(), []);
    assert.deepEqual(await ctnetPortElements(), []);
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 });
    await lab.ok(['rm', 'brief']);
  });

  await t.test("the README's conflist: addresses, the published port, and rm -f leaves nothing", async () => {
    const net = lab.addConflist(readmeConflist(lab.stateDir));
    await lab.ok(['network', 'inspect', net]);
    const run = await lab.runDetached('doc', net, ['httpd', '-f', '-p', '80', '-h', '/www'], ['-p', `${DOC_PORT}:80`]);
    assert.equal(run.code, 0, `podman run --network ${net}: ${run.stderr}`);
    const ip = await lab.containerIp('doc', net);
    assert.match(ip, /^10\.88\.\d+\.\d+$/, 'an address of the README\'s 10.88.0.0/16');
    const inside = await lab.ok(['exec', 'doc', 'ip', '-o', 'addr', 'show', 'eth0']);
    assert.match(inside, new RegExp(`inet ${ip.replaceAll('.', '\\.')}/16 `));
    assert.match(inside, /inet6 fd10:88::[0-9a-f:]+\/64 /, 'and one of fd10:88::/64');
    const eps = await endpoints(lab);
    assert.deepEqual(
      eps.map((e) => [e.network, e.ports.map((p) => `${p.family} ${p.protocol} ${p.hostPort}:${p.containerPort}`)]),
      [[net, [`4 tcp ${DOC_PORT}:80`, `6 tcp ${DOC_PORT}:80`]]],
      'ctnet published the port for both families: its entry declares portMappings',
    );
    assert.equal(await eventually(() => httpGet('127.0.0.1', DOC_PORT), 3000), INDEX_HTML, 'sandbox -> 127.0.0.1');
    assert.equal(await httpGetFrom(up.world, up.uplinkIp, DOC_PORT), INDEX_HTML, `another host -> ${up.uplinkIp}`);

    await lab.ok(['rm', '-f', '-t', '0', 'doc']);
    assert.deepEqual(await ctnetVeths(), []);
    assert.deepEqual(await ctnetPortElements(), []);
    assert.deepEqual(await endpoints(lab), []);
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 });
    assert.deepEqual(await sandboxAddressesIn('10.88.0.0/24'), ['ctnet0 10.88.0.1/16'], 'only the gateway is left');
    assert.doesNotMatch(await sh('nft', ['list', 'ruleset']), new RegExp(`\\b${DOC_PORT}\\b`), 'no rule or element is left for the port');
    assert.equal(await httpGet('127.0.0.1', DOC_PORT, 500), undefined, 'the published port is gone');
  });

  await t.test(`podman run -d / rm -f -t 0 timings, ctnet vs reference bridge (N=${BENCH_N}, printed only)`, async (tt) => {
    const times: Record<string, { run: number[]; rm: number[] }> = { [CT_NET.name]: { run: [], rm: [] }, [REF_NET.name]: { run: [], rm: [] } };
    // One unmeasured round each: the reference plugins create their bridge and chains on first use.
    for (let i = -1; i < BENCH_N; i++) {
      for (const net of [CT_NET.name, REF_NET.name]) {
        const name = `bench-${net}-${i + 1}`;
        const run = await lab.runDetached(name, net, ['sleep', '600']);
        assert.equal(run.code, 0, `podman run on ${net}: ${run.stderr}`);
        const rm = await lab.run(['rm', '-f', '-t', '0', name]);
        assert.equal(rm.code, 0, `podman rm on ${net}: ${rm.stderr}`);
        if (i < 0) continue;
        times[net]?.run.push(run.ms);
        times[net]?.rm.push(rm.ms);
      }
    }
    const rows = [
      ['plugin', 'podman run -d', 'podman rm -f -t 0'],
      ...[CT_NET.name, REF_NET.name].map((net) => [
        net === CT_NET.name ? 'ctnet' : 'bridge+host-local+portmap',
        `${median(times[net]?.run ?? []).toFixed(0)} ms`,
        `${median(times[net]?.rm ?? []).toFixed(0)} ms`,
      ]),
    ];
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
    tt.diagnostic(`medians over ${BENCH_N} containers each (sleep 600, no ports), wall time of the podman process:`);
    for (const r of rows) tt.diagnostic(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('   '));
    assert.deepEqual(await endpoints(lab), []);
  });
});
