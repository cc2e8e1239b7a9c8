/**
 * Runs a fault schedule against a chaos cluster in real time. Each event
 * starts at its time and undoes itself after its duration (restart the
 * killed node, SIGCONT the paused one, heal the network, start the service
 * again, put the clock back on real time). At most `maxDown` nodes are out
 * at once: an event that would exceed it waits (bounded) for a node to come
 * back, else it is skipped.
 *
 * The proxy's rule is the network lane's rule with the loss lane's layered
 * over it (a cut still cuts). Clock faults take turns: one starts only once
 * the node of the one before reads real time again (bounded), so even when
 * timers run late two nodes are never skewed at once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { NO_SKEW, skewMs } from './clocks.js';
import type { ChaosCluster, ChaosNode } from './cluster.js';
import type { LinkRule } from './proxy.js';
import { FAULT_KINDS, type FaultEvent, type FaultKind } from './schedule.js';

export interface FaultLogEntry {
  event: FaultEvent;
  startedMs: number;
  endedMs: number;
  skipped?: string;
  error?: string;
}

/** How long an event waits for a node to come back before it is skipped. */
const MAX_DEFER_MS = 10_000;

/** How long a clock fault waits for its node to read the new skew (a paused node reads it once resumed: pauses last ≤ 4 s). */
const CLOCK_SETTLE_MS = 10_000;

type Rule = (from: number, to: number) => LinkRule;

/** A loss episode's rule: its chance of loss on its links, both directions, and nothing elsewhere. */
export function lossRule(event: FaultEvent): Rule {
  const links = new Set((event.links ?? []).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
  const lossy: LinkRule = { lossRate: event.lossRate ?? 0.2 };
  return (from, to) => (links.has(`${Math.min(from, to)}-${Math.max(from, to)}`) ? lossy : {});
}

/** The network lane's rule with the loss lane's layered over it. */
export function layered(network: Rule | undefined, loss: Rule | undefined): Rule | undefined {
  if (network === undefined || loss === undefined) return network ?? loss;
  return (from, to) => ({ ...network(from, to), ...loss(from, to) });
}

/** ms as signed seconds to 0.1 s: +117.6 s, −3.2 s, 0 s */
function signed(ms: number): string {
  const tenths = Math.round(ms / 100);
  return tenths === 0 ? '0 s' : `${tenths > 0 ? '+' : '−'}${Math.abs(tenths) / 10} s`;
}

export function partitionRule(event: FaultEvent): Rule {
  const a = new Set(event.nodes);
  const b = new Set(event.others);
  const cut: LinkRule = { cut: event.cut ?? 'reset' };
  switch (event.kind) {
    case 'partition-halves':
    case 'partition-bridge':
      // The bridge is on neither side, so it talks to both.
      return (from, to) => ((a.has(from) && b.has(to)) || (b.has(from) && a.has(to)) ? cut : {});
    case 'partition-oneway':
      return (from, to) => (a.has(from) && b.has(to) ? cut : {});
    case 'latency':
      return () => ({ latencyMs: event.latencyMs ?? [50, 100] });
    case 'drops':
      return () => ({ dropRate: event.dropRate ?? 0.05 });
    default:
      throw new RangeError(`${event.kind} is not a network fault`);
  }
}

export class FaultRunner {
  readonly log: FaultLogEntry[] = [];
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private networkRule: Rule | undefined;
  private lossLaneRule: Rule | undefined;
  /** the clock fault in force (clock faults take turns) */
  private clockTurn: Promise<void> = Promise.resolve();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly maxDown: number,
    private readonly clock: () => number,
    private readonly say: (line: string) => void,
  ) {}

  /** Schedules every event relative to now. */
  start(events: readonly FaultEvent[]): void {
    const origin = Date.now();
    for (const event of events) {
      this.timers.push(setTimeout(() => {
        const p = this.apply(event).finally(() => this.running.delete(p));
        this.running.add(p);
      }, Math.max(0, origin + event.atMs - Date.now())));
    }
  }

  /** Cancels what has not started, cuts short what is running, and waits for it to undo itself. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.abort.abort();
    await Promise.all([...this.running]);
  }

  counts(): Record<FaultKind, number> {
    const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
    for (const e of this.log) if (e.skipped === undefined && e.error === undefined) counts[e.event.kind]++;
    return counts;
  }

  private out(): number {
    return this.cluster.nodes.filter((n) => n.down || n.proc.paused || !n.proc.running).length;
  }

  private async hold(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private async apply(event: FaultEvent): Promise<void> {
    const entry: FaultLogEntry = { event, startedMs: this.clock(), endedMs: -1 };
    this.log.push(entry);
    try {
      await this.run(event, entry);
    } catch (err) {
      entry.error = (err as Error).message;
      this.say(`fault ${event.kind} failed: ${entry.error}`);
    } finally {
      entry.endedMs = this.clock();
    }
  }

  private setRules(lane: 'network' | 'loss', rule: Rule | undefined): void {
    if (lane === 'network') this.networkRule = rule;
    else this.lossLaneRule = rule;
    const both = layered(this.networkRule, this.lossLaneRule);
    if (both === undefined) this.cluster.proxy?.heal();
    else this.cluster.proxy?.setRules(both);
  }

  private reading(node: ChaosNode, read: number | null): string {
    if (!node.proc.running) return 'not read (the node is down: it reads its file when it restarts)';
    return read === null ? 'not read (the node does not answer)' : `reads ${signed(read)}`;
  }

  /** A clock bump or drift on one node, then back to real time; one at a time. */
  private async clockFault(event: FaultEvent, entry: FaultLogEntry): Promise<void> {
    const c = this.cluster;
    const node = c.nodes[event.nodes[0] as number];
    if (node === undefined) return;
    const before = this.clockTurn;
    let done = (): void => undefined;
    this.clockTurn = new Promise((resolve) => { done = resolve; });
    try {
      await before;
      if (this.abort.signal.aborted) {
        entry.skipped = 'the run ended while the clock fault before it was still in force';
        return;
      }
      entry.startedMs = this.clock();
      const skew = event.kind === 'clock-bump' ? { offsetMs: event.clockOffsetMs ?? 0, rate: 1 } : { offsetMs: 0, rate: event.clockRate ?? 1 };
      this.say(event.kind === 'clock-bump'
        ? `clock-bump node ${node.index} ${signed(skew.offsetMs)} for ${event.durationMs} ms`
        : `clock-drift node ${node.index} at ${skew.rate}x for ${event.durationMs} ms (gains up to ${signed((skew.rate - 1) * event.durationMs)})`);
      const started = Date.now();
      await c.clocks.set(node.index, skew);
      if (event.kind === 'clock-bump') {
        const read = await c.waitClock(node, Math.min(CLOCK_SETTLE_MS, event.durationMs), this.abort.signal);
        this.say(`node ${node.index}'s clock ${this.reading(node, read)}`);
      }
      await this.hold(Math.max(0, event.durationMs - (Date.now() - started)));
      let gained = '';
      if (event.kind === 'clock-drift') {
        const reads = node.proc.running ? await skewMs(node.url).catch(() => null) : null;
        gained = ` after gaining ${signed(c.clocks.expectedSkewMs(node.index))}${reads === null ? '' : ` (read ${signed(reads)})`}`;
      }
      await c.clocks.set(node.index, NO_SKEW);
      const read = await c.waitClock(node, CLOCK_SETTLE_MS);
      this.say(`node ${node.index}'s clock back on real time${gained}: ${this.reading(node, read)}`);
    } finally {
      done();
    }
  }

  private async run(event: FaultEvent, entry: FaultLogEntry): Promise<void> {
    const c = this.cluster;
    switch (event.kind) {
      case 'kill':
      case 'pause': {
        const node = c.nodes[event.nodes[0] as number];
        if (node === undefined) return;
        const deadline = Date.now() + MAX_DEFER_MS;
        while ((this.out() >= this.maxDown || node.down || node.proc.paused || !node.proc.running) && Date.now() < deadline && !this.abort.signal.aborted) await this.hold(100);
        if (this.out() >= this.maxDown || node.down || node.proc.paused || !node.proc.running || this.abort.signal.aborted) {
          entry.skipped = `${this.out()} nodes already out`;
          return;
        }
        entry.startedMs = this.clock();
        if (event.kind === 'kill') {
          node.down = true;
          this.say(`kill -9 node ${node.index} for ${event.durationMs} ms`);
          await node.proc.kill9();
          await this.hold(event.durationMs);
          await c.startNode(node);
          this.say(`node ${node.index} restarted`);
        } else {
          this.say(`SIGSTOP node ${node.index} for ${event.durationMs} ms`);
          node.proc.signal('SIGSTOP');
          await this.hold(event.durationMs);
          node.proc.signal('SIGCONT');
        }
        return;
      }
      case 'redis-restart':
      case 'postgres-restart': {
        const service = event.kind === 'redis-restart' ? c.redis : c.postgres;
        this.say(`stop ${event.kind === 'redis-restart' ? 'Redis' : 'PostgreSQL'} for ${event.durationMs} ms`);
        await service?.stop();
        await this.hold(event.durationMs);
        await service?.start();
        return;
      }
      case 'clock-bump':
      case 'clock-drift':
        await this.clockFault(event, entry);
        return;
      case 'loss': {
        const links = (event.links ?? []).map(([a, b]) => `${a}-${b}`).join(' ');
        this.say(`loss ${Math.round((event.lossRate ?? 0.2) * 100)}% of chunks on links ${links} for ${event.durationMs} ms`);
        const lostBefore = c.proxy?.stats.lost ?? 0;
        this.setRules('loss', lossRule(event));
        await this.hold(event.durationMs);
        this.setRules('loss', undefined);
        this.say(`loss over: ${(c.proxy?.stats.lost ?? 0) - lostBefore} chunks stalled for retransmission`);
        return;
      }
      default: {
        const sides = event.kind.startsWith('partition') ? ` ${JSON.stringify(event.nodes)} | ${JSON.stringify(event.others)}${event.bridge === undefined ? '' : ` bridge ${event.bridge}`} (${event.cut ?? 'reset'})` : '';
        const extra = event.latencyMs !== undefined ? ` ${event.latencyMs[0]}-${event.latencyMs[1]} ms` : event.dropRate !== undefined ? ` ${Math.round(event.dropRate * 1000) / 10}% of chunks` : '';
        this.say(`${event.kind}${sides}${extra} for ${event.durationMs} ms`);
        this.setRules('network', partitionRule(event));
        await this.hold(event.durationMs);
        this.setRules('network', undefined);
      }
    }
  }
}
