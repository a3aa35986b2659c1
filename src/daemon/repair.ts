/**
 * Live repair: while the agent runs it watches the kernel and, within a second, puts back what
 * ctnet owns when someone else breaks it (a flushed ruleset or deleted table, a deleted or downed
 * bridge, a removed gateway address, forwarding switched off), and releases the containers whose
 * namespace vanished without a disconnect.
 *
 * - Events are triggers only. A {@link KernelMonitor} delivers the kernel's notifications; those
 *   that can mean damage (repair-triggers.ts) gather until the kernel has been quiet for
 *   `settleMs` (at most `maxDelayMs` after the first), then one `Ctnet.repair` looks at every
 *   ready network with the engine's own checks and mends what they report. Events meanwhile make
 *   the next pass.
 * - It never fights ctnet's own changes: the engine leaves records that are not `ready` alone and
 *   mends a network under its exclusive lock, so a create, remove, connect or disconnect in
 *   progress wins; the events ctnet's own changes cause (a repair's included) make a pass that
 *   finds nothing and changes nothing.
 * - A network whose repair fails is looked at again at once, then left alone for 1 s, doubling
 *   to a minute while that goes on; so is one repaired `FOUGHT_REPAIRS` times within
 *   `FOUGHT_WINDOW_MS` (someone keeps breaking it, or what it lacks cannot be put back), from 1 s.
 * - At start, after an overrun (the kernel dropped notifications) and when the monitor had to be
 *   opened again, everything is looked at, firewall objects one by one; every `periodMs` too,
 *   with the cheap probes.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../errors.js';
import type { FirewallScope, NetworkRepair, RepairReport } from '../index.js';
import { KernelMonitor } from '../netlink/monitor.js';
import type { AgentLog } from './log.js';
import { type Trigger, triggerOf, widenScope } from './repair-triggers.js';
import type { WarmEngine } from './warm-engine.js';

export interface RepairerOptions {
  /**
   * Quiet time after the last event of a burst before looking; default 50 ms (deleting a bridge
   * with ports announces the ports over some 30 ms before the bridge itself).
   */
  settleMs?: number;
  /** Longest a burst of events delays the look; default 200 ms. */
  maxDelayMs?: number;
  /** A look at every network this often, whatever the events; default 30 s. */
  periodMs?: number;
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 60_000;
const FOUGHT_REPAIRS = 10;
const FOUGHT_WINDOW_MS = 10_000;

/** A network left alone for a while: how often in a row, until when, and the timer that brings it back. */
interface Backoff {
  times: number;
  until: number;
  timer: NodeJS.Timeout;
}

/**
 * The agent's repairer. Start it once the engine is open; stop it before the engine closes.
 * @example
 * ```ts
 * const repairer = Repairer.start(warm, log);
 * // ...
 * await repairer.stop();
 * warm.close();
 * ```
 */
export class Repairer {
  readonly #warm: WarmEngine;
  readonly #log: AgentLog;
  readonly #settleMs: number;
  readonly #maxDelayMs: number;
  readonly #period: NodeJS.Timeout;
  #monitor: KernelMonitor | undefined;
  #rewatch: NodeJS.Timeout | undefined;
  /** What the next pass looks at, and since when it is asked for; undefined: nothing asked. */
  #pending: { firewall: FirewallScope | undefined; since: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #backoff = new Map<string, Backoff>();
  /** When each network was repaired lately. */
  readonly #repairs = new Map<string, number[]>();

  private constructor(warm: WarmEngine, log: AgentLog, options: RepairerOptions) {
    this.#warm = warm;
    this.#log = log;
    this.#settleMs = options.settleMs ?? 50;
    this.#maxDelayMs = options.maxDelayMs ?? 200;
    this.#period = setInterval(() => { this.#add({}); }, options.periodMs ?? 30_000).unref();
  }

  /** Watch the kernel, then look at everything once: nothing broken before or meanwhile goes unseen. */
  static start(warm: WarmEngine, log: AgentLog, options: RepairerOptions = {}): Repairer {
    const repairer = new Repairer(warm, log, options);
    repairer.#watch();
    repairer.#add({ firewall: 'all' }, true);
    return repairer;
  }

  /** Stop watching and looking; resolves once a pass in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#monitor?.close();
    this.#monitor = undefined;
    clearInterval(this.#period);
    clearTimeout(this.#rewatch);
    clearTimeout(this.#timer);
    for (const b of this.#backoff.values()) clearTimeout(b.timer);
    await this.#running;
  }

  #watch(): void {
    try {
      this.#monitor = KernelMonitor.open({
        onEvent: (event) => {
          const trigger = triggerOf(event);
          if (trigger !== undefined) this.#add(trigger);
        },
        onError: (err) => {
          this.#monitor = undefined;
          this.#watchLater(`the kernel monitor failed: ${err.message}`);
        },
      });
    } catch (err) {
      this.#watchLater(`cannot watch the kernel: ${errorMessage(err)}`);
    }
  }

  /** Opens the monitor again in a second, then looks at everything: what changed meanwhile went unheard. */
  #watchLater(why: string): void {
    this.#log.write('repair-watch-failed', `${why}; watching again in ${RETRY_FIRST_MS} ms`);
    this.#rewatch = setTimeout(() => {
      if (this.#stopped) return;
      this.#watch();
      this.#add({ firewall: 'all' }, true);
    }, RETRY_FIRST_MS).unref();
  }

  /** Ask for a pass: once the events have settled, or at once. */
  #add(trigger: Trigger, now = false): void {
    if (this.#stopped) return;
    const at = performance.now();
    const since = this.#pending?.since ?? at;
    this.#pending = { firewall: widenScope(this.#pending?.firewall, trigger.firewall), since };
    clearTimeout(this.#timer);
    const delay = now ? 0 : Math.max(0, Math.min(this.#settleMs, since + this.#maxDelayMs - at));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A pass in progress takes what is pending when it is done.
      this.#running ??= this.#passes().finally(() => {
        this.#running = undefined;
      });
    }, delay);
  }

  async #passes(): Promise<void> {
    while (!this.#stopped && this.#pending !== undefined) {
      const { firewall, since } = this.#pending;
      this.#pending = undefined;
      await this.#pass(firewall, since);
    }
  }

  async #pass(firewall: FirewallScope | undefined, since: number): Promise<void> {
    const started = performance.now();
    const skip = new Set([...this.#backoff].flatMap(([name, b]) => (b.until > started ? [name] : [])));
    let report: RepairReport;
    try {
      report = await this.#warm.use(this.#warm.stateDir, (ct) => ct.repair({ ...(firewall === undefined ? {} : { firewall }), skip }));
    } catch (err) {
      this.#log.write('repair-failed', `repair: cannot look at the networks: ${errorMessage(err)}`);
      return;
    }
    const done = performance.now();
    const timing = { ms: Math.round(done - started), sinceEventMs: Math.round(done - since) };
    for (const a of report.released) {
      const message = a.error === undefined ? `released ${a.subject}: ${a.reason}` : `failed to release ${a.subject}: ${a.error}`;
      this.#log.write(a.error === undefined ? 'released' : 'release-failed', message, { id: a.id, ...(a.error === undefined ? {} : { error: a.error }), ...timing });
    }
    for (const n of report.networks) this.#reportNetwork(n, timing);
    // Looked at again and found whole: the next failure starts the delays anew.
    for (const [name, b] of this.#backoff) {
      if (b.until <= started && !report.networks.some((n) => n.network === name)) this.#backoff.delete(name);
    }
  }

  #reportNetwork(n: NetworkRepair, timing: { ms: number; sinceEventMs: number }): void {
    const fields = { network: n.network, problems: n.problems, ...timing };
    if (n.error !== undefined) {
      const retryMs = this.#leaveAlone(n.network);
      this.#log.write('repair-failed', `repair of network "${n.network}" failed: ${n.error}; looking again in ${retryMs} ms`, { ...fields, error: n.error, retryMs });
      return;
    }
    if (n.remaining.length === 0) {
      this.#log.write('repaired', `repaired network "${n.network}" in ${timing.ms} ms, ${timing.sinceEventMs} ms after the kernel reported it: ${n.problems.join('; ')}`, fields);
    } else {
      // Broken again meanwhile (the events that say so make the next pass), or beyond repair
      // (then the repair's own changes do, until the network counts as fought over).
      this.#log.write('repair-failed', `repair of network "${n.network}" did not hold: still ${n.remaining.join('; ')}`, { ...fields, remaining: n.remaining });
    }
    if (this.#fought(n.network)) {
      const retryMs = this.#leaveAlone(n.network, RETRY_FIRST_MS);
      this.#log.write('repair-fought', `network "${n.network}" was repaired ${FOUGHT_REPAIRS} times within ${FOUGHT_WINDOW_MS / 1000} s: leaving it alone for ${retryMs} ms`, { network: n.network, retryMs });
    } else if (n.remaining.length === 0) {
      clearTimeout(this.#backoff.get(n.network)?.timer);
      this.#backoff.delete(n.network);
    }
  }

  /** Records a repair; true when the network has been repaired too often lately. */
  #fought(name: string): boolean {
    const now = performance.now();
    const times = [...(this.#repairs.get(name) ?? []).filter((t) => now - t < FOUGHT_WINDOW_MS), now];
    this.#repairs.set(name, times);
    return times.length >= FOUGHT_REPAIRS;
  }

  /**
   * Look at the network again at once the first time (someone may have broken it again while it
   * was being repaired), then skip it for 1 s, doubling each time in a row up to a minute; each
   * time look at everything (its repair may have failed on any of its objects). Never sooner than
   * `minimumMs`. Returns the delay.
   */
  #leaveAlone(name: string, minimumMs = 0): number {
    const previous = this.#backoff.get(name);
    clearTimeout(previous?.timer);
    const times = (previous?.times ?? 0) + 1;
    const delay = Math.max(minimumMs, times === 1 ? 0 : Math.min(RETRY_FIRST_MS * 2 ** (times - 2), RETRY_MAX_MS));
    const timer = setTimeout(() => { this.#add({ firewall: 'all' }, true); }, delay).unref();
    this.#backoff.set(name, { times, until: performance.now() + delay, timer });
    return delay;
  }
}
