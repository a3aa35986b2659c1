/**
 * containerd 1.6 (Debian's) as a real CNI client: `ctr run --cni` with ctnet as the plugin of the
 * network in ctr's CNI config directory, busybox containers from an image imported locally. A
 * container gets its address from ctnet, reaches the gateway, the other container's httpd and the
 * outside (masqueraded); when both containers are removed, ctr's DEL leaves no endpoint, veth,
 * address or IPAM row, and `network rm` leaves no ct* link.
 *
 * Published ports are not tested here: ctr 1.6 has no port option and passes no capability args
 * (so no `portMappings`) to CNI; only containerd's CRI plugin does, for Kubernetes pods.
 *
 * Runs only as root inside scripts/sandbox.sh with containerd installed; see
 * test/helpers/containerd.ts for the private containerd setup.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ContainerdLab, containerdSkipReason, CTR_NET, type CtrContainer } from '../helpers/containerd.js';
import { ctnetContainerRows, ctnetVeths, INDEX_HTML, sandboxAddressesIn } from '../helpers/podman.js';
import { cliOk, ctnetLinks, withUplink } from '../helpers/sandbox.js';

const skip = containerdSkipReason();
if (skip !== undefined) console.log(`# containerd.test: skipped: ${skip}`);

interface EndpointJson {
  container: string;
  network: string;
  ifname: string;
  addresses: string[];
}

test('containerd with ctnet as its CNI plugin (ctr run --cni)', { skip, timeout: 120_000 }, async (t) => {
  const lab = await ContainerdLab.start();
  t.after(() => lab.close());
  const up = await withUplink(t);
  const endpoints = async (): Promise<EndpointJson[]> => JSON.parse(await cliOk(lab.stateDir, ['--json', 'ls'])) as EndpointJson[];
  /** `ctr task exec`; fails the test with the command's stderr. */
  const execOk = async (name: string, cmd: readonly string[]): Promise<string> => {
    const r = await lab.exec(name, cmd);
    assert.equal(r.code, 0, `${cmd.join(' ')} in ${name}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  let web: CtrContainer | undefined;
  let a: CtrContainer | undefined;
  let webIp = '';
  await t.test('each container gets its address from ctnet', async () => {
    web = await lab.run('web', ['httpd', '-f', '-p', '80', '-h', '/www']);
    a = await lab.run('a', ['sleep', '600']);
    const eps = await endpoints();
    assert.deepEqual(eps.map((e) => [e.container, e.network, e.ifname]).sort(), [
      [a.cniId, CTR_NET.name, 'eth0'],
      [web.cniId, CTR_NET.name, 'eth0'],
    ]);
    for (const [c, ep] of [a, web].map((c) => [c, eps.find((e) => e.container === c.cniId)] as const)) {
      const address = ep?.addresses[0] ?? '';
      assert.match(address, /^10\.94\.0\.\d+\/24$/);
      // What the container itself has, not ctnet's record of it.
      assert.match(await execOk(c.name, ['ip', '-o', '-4', 'addr', 'show', 'eth0']), new RegExp(` inet ${address.replaceAll('.', '\\.')} `));
      if (c === web) webIp = address.split('/')[0] ?? '';
    }
  });

  await t.test("reaches the gateway, the other container's httpd and the outside", async () => {
    await execOk('a', ['ping', '-c1', '-W1', CTR_NET.gateway]);
    // httpd may still be starting right after its task runs; busybox 1.35 `wget -T` segfaults.
    let body = '';
    for (let i = 0; i < 30 && body !== INDEX_HTML; i++) {
      body = (await lab.exec('a', ['timeout', '5', 'wget', '-qO-', `http://${webIp}/`])).stdout;
      if (body !== INDEX_HTML) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body, INDEX_HTML, `a -> http://${webIp}/`);
    await execOk('a', ['ping', '-c1', '-W1', up.serverIp]);
  });

  await t.test('published ports', { skip: 'ctr 1.6 has no port option and hands CNI no portMappings (only the CRI plugin does)' }, () => undefined);

  await t.test('removing the containers leaves nothing behind', async () => {
    assert.ok(web !== undefined && a !== undefined, 'the containers were started');
    assert.equal((await ctnetVeths()).length, 2);
    for (const c of [web, a]) {
      const r = await lab.remove(c);
      assert.equal(r.code, 137, `ctr run ${c.name} ends with its task's SIGKILL status: ${r.stderr}`);
    }
    assert.equal((await lab.ok(['container', 'ls', '--quiet'])).trim(), '');
    assert.deepEqual(await endpoints(), []);
    assert.deepEqual(await ctnetVeths(), []);
    assert.deepEqual(ctnetContainerRows(lab.stateDir), { endpoints: 0, allocations: 0, ports: 0 });
    assert.deepEqual(await sandboxAddressesIn(CTR_NET.subnet), [`${CTR_NET.bridge} ${CTR_NET.gateway}/24`]);
    // The network outlives its containers, as CNI networks do; removing it leaves no ct* link.
    await cliOk(lab.stateDir, ['network', 'rm', CTR_NET.name]);
    assert.deepEqual(await ctnetLinks(), []);
  });
});
