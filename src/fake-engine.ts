/**
 * The engine's test lab: a {@link Ctnet} on an in-memory kernel (`network/fake-kernel.ts`), a fake
 * firewall and a state database in a temporary directory, with a hook at every step of a change
 * to fail there (and roll back) or to stop there as a killed process would. For unit tests only.
 * @module
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Ctnet, type CtnetEvents, type CtnetOptions } from './ctnet.js';
import { FakeFirewall } from './firewall/fake-firewall.js';
import { formatIp } from './inet/ip.js';
import { FakeKernel, type FakeNamespace } from './network/fake-kernel.js';
import type { SysctlChange } from './network/types.js';

export interface Lab {
  ct: Ctnet;
  kernel: FakeKernel;
  firewall: FakeFirewall;
  dir: string;
  /** Every event, in order. */
  events: { name: keyof CtnetEvents; subject: string }[];
  /** Every step the engine marked since the last `arm`. */
  steps: string[];
  /** Throw at the k-th step (0-based) from now on; undefined: never. */
  arm: (k: number | undefined) => void;
  /**
   * Stop the next change for good at step `step` (its name), as a process stopped there would be:
   * the promise resolves when it gets there. Its locks stay held until {@link Lab.kill}.
   */
  freezeAt: (step: string) => Promise<void>;
  /** Let the frozen change die: its locks no longer hold, as a killed process's do not. */
  kill: () => void;
  sysctlChanges: SysctlChange[];
  /** Container namespaces, made empty. */
  ns: (name: string) => FakeNamespace;
}

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-engine-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

/** An engine on a fake kernel and firewall, closed when the test ends. */
export function lab(t: TestContext, options: Partial<CtnetOptions> = {}): Lab {
  const dir = tempDir(t);
  const kernel = new FakeKernel();
  const firewall = new FakeFirewall();
  const steps: string[] = [];
  const sysctlChanges: SysctlChange[] = [];
  let failAt: number | undefined;
  let freeze: { step: string; reached: () => void } | undefined;
  const ct = Ctnet.open({
    stateDir: dir,
    kernel,
    firewall,
    onStep: (step) => {
      steps.push(step);
      if (failAt !== undefined && steps.length - 1 === failAt) throw new Error(`injected at ${step}`);
      if (freeze?.step !== step) return undefined;
      freeze.reached();
      freeze = undefined;
      return new Promise<void>(() => undefined);
    },
    onSysctlChange: (c) => sysctlChanges.push(c),
    ...options,
  });
  t.after(() => { ct.close(); });
  const events: Lab['events'] = [];
  ct.on('network-created', (n) => events.push({ name: 'network-created', subject: n.name }));
  ct.on('network-removed', (n) => events.push({ name: 'network-removed', subject: n.name }));
  ct.on('endpoint-connected', (e) => events.push({ name: 'endpoint-connected', subject: `${e.container} ${e.network} ${e.addresses.join(' ')}` }));
  ct.on('endpoint-disconnected', (e) => events.push({ name: 'endpoint-disconnected', subject: `${e.container} ${e.network}` }));
  return {
    ct,
    kernel,
    firewall,
    dir,
    events,
    steps,
    sysctlChanges,
    arm: (k) => {
      steps.length = 0;
      failAt = k;
    },
    freezeAt: (step) => new Promise((reached) => { freeze = { step, reached }; }),
    // Deleted lock files lock nothing: the next taker makes a new one, as after the holder died.
    kill: () => { for (const f of readdirSync(join(dir, 'locks'))) rmSync(join(dir, 'locks', f)); },
    ns: (name) => kernel.addNamespace(name),
  };
}

/** A namespace as text: links (name, up, master's name), addresses and routes, for comparisons. */
export function snapshot(ns: FakeNamespace): { links: string[]; addresses: string[]; routes: string[] } {
  const name = (index: number | undefined): string => (index === undefined ? '-' : (ns.find(index)?.name ?? `#${index}`));
  return {
    links: [...ns.links.values()].map((l) => `${l.name}${l.up ? ' up' : ''}${l.masterIndex === undefined ? '' : ` master ${name(l.masterIndex)}`}`),
    addresses: ns.addresses.map((a) => `${formatIp(a.ip)}/${a.prefix} dev ${name(a.index)}`),
    routes: ns.routes.map((r) => `${r.dst === undefined ? 'default' : `${formatIp(r.dst.ip)}/${r.dst.prefix}`}${r.gateway === undefined ? '' : ` via ${formatIp(r.gateway)}`} dev ${name(r.oifIndex)} table ${r.table}`),
  };
}

export const NET = { name: 'net1', subnets: ['10.68.0.0/24'] };
