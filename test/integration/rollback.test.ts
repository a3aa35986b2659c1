/**
 * Rollback, step by step, at library level: a change that fails after step k of its n steps must
 * leave nothing behind. The `onStep` hook first records the steps of a successful change, then
 * throws at each of them in turn; after every failure the sandbox (`ip -j`, `nft -j`, `ip netns`),
 * the container's own links, addresses and routes, and ctnet's listings must be as before, and the
 * address the failed change had taken must be handed out again.
 */
import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import { Ctnet } from '../../src/ctnet.js';
import type { FirewallDriver, FirewallNetwork } from '../../src/firewall/driver.js';
import { NoneFirewallDriver } from '../../src/firewall/none-driver.js';
import { parsePortSpec } from '../../src/network/ports.js';
import type { ConnectOptions, NetworkSpec } from '../../src/network/types.js';
import { containerSnapshot, ctnetStateDir, newNetns, sandboxSkipReason, stableHostSnapshot, waitForDad } from '../helpers/sandbox.js';

const skip = sandboxSkipReason();

/** A Ctnet whose `onStep` hook records every step and can be armed to throw at the k-th one. */
interface Probe {
  ct: Ctnet;
  /** Steps seen since the last `arm`. */
  steps: string[];
  /** Throw `injected at STEP` at the k-th step (0-based) of the next operation; undefined: never. */
  arm(k: number | undefined): void;
}

function openProbe(t: TestContext, stateDir: string, firewall?: FirewallDriver): Probe {
  const steps: string[] = [];
  let failAt: number | undefined;
  const ct = Ctnet.open({
    stateDir,
    ...(firewall === undefined ? {} : { firewall }),
    onStep: (step) => {
      steps.push(step);
      if (failAt !== undefined && steps.length - 1 === failAt) throw new Error(`injected at ${step}`);
    },
  });
  // Registered after ctnetStateDir's cleanup, so this runs once the objects are gone.
  t.after(() => { ct.close(); });
  return {
    ct,
    steps,
    arm(k) {
      steps.length = 0;
      failAt = k;
    },
  };
}

/** The rejection must be the injected error, with nothing left over from the undo. */
function injected(step: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof Error, `not an Error: ${String(err)}`);
    assert.match(err.message, new RegExp(`injected at ${step}`));
    assert.notEqual((err as { code?: string }).code, 'CTNET_TEARDOWN', `rollback failed: ${err.message}`);
    return true;
  };
}

/** Everything a failed change must leave as it was. */
async function snapshot(ct: Ctnet, containers: readonly string[]): Promise<Record<string, unknown>> {
  await waitForDad(containers);
  const [host, ...inside] = await Promise.all([stableHostSnapshot(), ...containers.map((c) => containerSnapshot(c))]);
  return { host, networks: ct.listNetworks(), endpoints: ct.listEndpoints(), ...Object.fromEntries(containers.map((c, i) => [`container ${c}`, inside[i]])) };
}

function assertSame(after: Record<string, unknown>, before: Record<string, unknown>, what: string): void {
  for (const key of Object.keys(before)) {
    const a = after[key];
    const b = before[key];
    if (typeof a === 'string' && typeof b === 'string' && a !== b) {
      // Long snapshots: show the lines that differ, not two pages of JSON.
      const al = a.split('\n');
      const bl = b.split('\n');
      const gone = bl.filter((l) => !al.includes(l));
      const added = al.filter((l) => !bl.includes(l));
      assert.fail(`${what}: ${key} differs\n- before only:\n${gone.join('\n')}\n+ after only:\n${added.join('\n')}`);
    }
    assert.deepEqual(a, b, `${what}: ${key} differs`);
  }
}

/** `expected` is a prefix of `actual` in order, other steps allowed in between. */
function assertStepsInclude(actual: readonly string[], expected: readonly string[]): void {
  let i = 0;
  for (const s of actual) if (s === expected[i]) i++;
  assert.equal(i, expected.length, `steps ${JSON.stringify(actual)} do not include ${JSON.stringify(expected)} in order`);
}

interface CreateScenario {
  name: string;
  spec: NetworkSpec;
  steps: string[];
  /** Addresses the first container gets. */
  first: string[];
}

const CREATE_SCENARIOS: readonly CreateScenario[] = [
  {
    name: 'bridge',
    spec: { name: 'rb-br', subnets: ['10.80.20.0/24'] },
    steps: ['state', 'bridge', 'gateway-address', 'forwarding', 'firewall'],
    first: ['10.80.20.2/24'],
  },
  {
    name: 'ptp',
    spec: { name: 'rb-ptp', subnets: ['10.80.21.0/24'], driver: 'ptp' },
    steps: ['state', 'forwarding', 'firewall'],
    first: ['10.80.21.2/32'],
  },
  {
    name: 'bridge, dual stack',
    spec: { name: 'rb-br6', subnets: ['10.80.22.0/24', 'fd80:22::/64'] },
    steps: ['state', 'bridge', 'gateway-address', 'forwarding', 'firewall'],
    first: ['10.80.22.2/24', 'fd80:22::2/64'],
  },
];

for (const sc of CREATE_SCENARIOS) {
  test(`createNetwork (${sc.name}) rolls back at every step`, { skip }, async (t) => {
    const stateDir = ctnetStateDir(t);
    const probe = openProbe(t, stateDir);
    const { ct } = probe;

    probe.arm(undefined);
    await ct.createNetwork(sc.spec);
    const steps = [...probe.steps];
    assertStepsInclude(steps, sc.steps);
    await ct.removeNetwork(sc.spec.name);

    for (const [k, step] of steps.entries()) {
      await t.test(`fault at step ${k} (${step})`, async () => {
        const before = await snapshot(ct, []);
        probe.arm(k);
        await assert.rejects(ct.createNetwork(sc.spec), injected(step));
        probe.arm(undefined);
        assertSame(await snapshot(ct, []), before, `createNetwork failed at ${step}`);

        // The name, the subnet and the first address are all free again.
        const c = await newNetns(t, 'rb');
        try {
          await ct.createNetwork(sc.spec);
          const ep = await ct.connect(sc.spec.name, c);
          assert.deepEqual(ep.addresses, sc.first);
        } finally {
          // Whatever happened, the next step starts without this network.
          await ct.disconnect(sc.spec.name, c).catch(() => undefined);
          await ct.removeNetwork(sc.spec.name).catch(() => undefined);
        }
      });
    }
  });
}

/**
 * A firewall whose network setup fails (the engine must undo the network's links and state), or,
 * with `portsOnly`, only its port setup (the engine must undo the endpoint).
 */
class FailingFirewall extends NoneFirewallDriver {
  readonly #portsOnly: boolean;
  constructor(options: { portsOnly?: boolean } = {}) {
    super();
    this.#portsOnly = options.portsOnly ?? false;
  }
  override setupNetwork(net: FirewallNetwork): Promise<void> {
    if (this.#portsOnly) return Promise.resolve();
    return Promise.reject(new Error(`injected at firewall setup of ${net.name}`));
  }
  override setupPorts(): Promise<void> {
    if (!this.#portsOnly) return Promise.resolve();
    return Promise.reject(new Error('injected at firewall setup of ports'));
  }
}

for (const sc of CREATE_SCENARIOS) {
  test(`createNetwork (${sc.name}) rolls back when the firewall fails`, { skip }, async (t) => {
    const stateDir = ctnetStateDir(t);
    const failing = new FailingFirewall();
    const bad = openProbe(t, stateDir, failing);
    const before = await snapshot(bad.ct, []);
    bad.arm(undefined);
    await assert.rejects(bad.ct.createNetwork(sc.spec), injected('firewall setup'));
    assertSame(await snapshot(bad.ct, []), before, 'createNetwork with a failing firewall');

    const good = openProbe(t, stateDir);
    const c = await newNetns(t, 'rb');
    await good.ct.createNetwork(sc.spec);
    const ep = await good.ct.connect(sc.spec.name, c);
    assert.deepEqual(ep.addresses, sc.first);
  });
}

interface ConnectScenario {
  name: string;
  spec: NetworkSpec;
  steps: string[];
  /** The n-th address of each subnet, with the prefix connect reports. */
  address: (n: number) => string[];
  /** Connect the container to this network first, so the one under test is its second (eth1, no default route). */
  second?: NetworkSpec;
  /** Options of the connect under test (not of the first container's). */
  options?: ConnectOptions;
}

const CONNECT_SCENARIOS: readonly ConnectScenario[] = [
  {
    name: 'bridge',
    spec: { name: 'rc-br', subnets: ['10.80.23.0/24'] },
    steps: ['state', 'veth', 'address', 'route'],
    address: (n) => [`10.80.23.${n}/24`],
  },
  {
    name: 'ptp',
    spec: { name: 'rc-ptp', subnets: ['10.80.24.0/24'], driver: 'ptp' },
    steps: ['state', 'veth', 'host-route', 'address', 'route'],
    address: (n) => [`10.80.24.${n}/32`],
  },
  {
    name: 'bridge, dual stack',
    spec: { name: 'rc-br6', subnets: ['10.80.25.0/24', 'fd80:25::/64'] },
    steps: ['state', 'veth', 'address', 'route'],
    address: (n) => [`10.80.25.${n}/24`, `fd80:25::${n.toString(16)}/64`],
  },
  {
    name: 'ptp, dual stack',
    spec: { name: 'rc-ptp6', subnets: ['10.80.26.0/24', 'fd80:26::/64'], driver: 'ptp' },
    steps: ['state', 'veth', 'host-route', 'address', 'route'],
    address: (n) => [`10.80.26.${n}/32`, `fd80:26::${n.toString(16)}/128`],
  },
  {
    name: 'ptp, second network of the container',
    spec: { name: 'rc-ptp2', subnets: ['10.80.27.0/24'], driver: 'ptp' },
    steps: ['state', 'veth', 'host-route', 'address', 'route'],
    address: (n) => [`10.80.27.${n}/32`],
    second: { name: 'rc-first', subnets: ['10.80.28.0/24'] },
  },
  {
    name: 'bridge, with a published port',
    spec: { name: 'rc-port', subnets: ['10.80.29.0/24'] },
    steps: ['state', 'veth', 'address', 'route', 'ports'],
    address: (n) => [`10.80.29.${n}/24`],
    // The same host port every time: a rolled-back connect must have released it.
    options: { ports: [parsePortSpec('18029:80/tcp')] },
  },
];

for (const sc of CONNECT_SCENARIOS) {
  test(`connect (${sc.name}) rolls back at every step`, { skip }, async (t) => {
    const stateDir = ctnetStateDir(t);
    const probe = openProbe(t, stateDir);
    const { ct } = probe;
    probe.arm(undefined);
    await ct.createNetwork(sc.spec);
    if (sc.second !== undefined) await ct.createNetwork(sc.second);
    // A container already on the network: the bridge has a carrier and its link-local address.
    const c0 = await newNetns(t, 'rc');
    assert.deepEqual((await ct.connect(sc.spec.name, c0)).addresses, sc.address(2));

    /** A fresh container (loopback down, no interfaces), on the first network if the scenario wants one. */
    const container = async (): Promise<string> => {
      const c = await newNetns(t, 'rc');
      if (sc.second !== undefined) await ct.connect(sc.second.name, c);
      return c;
    };

    const c1 = await container();
    probe.arm(undefined);
    const ep1 = await ct.connect(sc.spec.name, c1, sc.options);
    const steps = [...probe.steps];
    assertStepsInclude(steps, sc.steps);
    assert.deepEqual(ep1.addresses, sc.address(3));
    assert.equal(ep1.ifname, sc.second === undefined ? 'eth0' : 'eth1');
    await ct.disconnect(sc.spec.name, c1);
    // Addresses go round robin: the next connect gets the one after the last handed out.
    let next = 4;
    // One fresh container per step, made up front so that their IPv6 DAD runs at the same time.
    const pool: string[] = [];
    for (let i = 0; i < steps.length; i++) pool.push(await container());

    for (const [k, step] of steps.entries()) {
      await t.test(`fault at step ${k} (${step})`, async () => {
        const c = pool[k] ?? '';
        const before = await snapshot(ct, [c0, c]);
        probe.arm(k);
        await assert.rejects(ct.connect(sc.spec.name, c, sc.options), injected(step));
        probe.arm(undefined);
        assertSame(await snapshot(ct, [c0, c]), before, `connect failed at ${step}`);

        // The address the failed connect had taken is the one the next connect gets.
        try {
          const ep = await ct.connect(sc.spec.name, c, sc.options);
          assert.deepEqual(ep.addresses, sc.address(next));
        } finally {
          next++;
          await ct.disconnect(sc.spec.name, c).catch(() => undefined);
        }
      });
    }
  });
}

test('connect with a published port rolls back when the firewall fails', { skip }, async (t) => {
  const stateDir = ctnetStateDir(t);
  const spec: NetworkSpec = { name: 'rc-fwp', subnets: ['10.80.30.0/24'] };
  const options: ConnectOptions = { ports: [parsePortSpec('18030:80/tcp')] };
  const bad = openProbe(t, stateDir, new FailingFirewall({ portsOnly: true }));
  bad.arm(undefined);
  await bad.ct.createNetwork(spec);
  const c0 = await newNetns(t, 'rc');
  assert.deepEqual((await bad.ct.connect(spec.name, c0)).addresses, ['10.80.30.2/24']);
  const c = await newNetns(t, 'rc');
  const before = await snapshot(bad.ct, [c0, c]);
  await assert.rejects(bad.ct.connect(spec.name, c, options), injected('firewall setup of ports'));
  assertSame(await snapshot(bad.ct, [c0, c]), before, 'connect with a failing port setup');

  const good = openProbe(t, stateDir);
  const ep = await good.ct.connect(spec.name, c, options);
  assert.deepEqual(ep.addresses, ['10.80.30.3/24']);
});
