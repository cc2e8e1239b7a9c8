/**
 * Runs a fault schedule against a chaos cluster in real time. Each event
 * starts at its time and undoes itself after its duration (restart the
 * killed node, SIGCONT the paused one, heal the network, start the service
 * again). At most `maxDown` nodes are out at once: an event that would
 * exceed it waits (bounded) for a node to come back, else it is skipped.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ChaosCluster } from './cluster.js';
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

export function partitionRule(event: FaultEvent): (from: number, to: number) => LinkRule {
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
      default: {
        const sides = event.kind.startsWith('partition') ? ` ${JSON.stringify(event.nodes)} | ${JSON.stringify(event.others)}${event.bridge === undefined ? '' : ` bridge ${event.bridge}`} (${event.cut ?? 'reset'})` : '';
        const extra = event.latencyMs !== undefined ? ` ${event.latencyMs[0]}-${event.latencyMs[1]} ms` : event.dropRate !== undefined ? ` ${Math.round(event.dropRate * 1000) / 10}% of chunks` : '';
        this.say(`${event.kind}${sides}${extra} for ${event.durationMs} ms`);
        c.proxy?.setRules(partitionRule(event));
        await this.hold(event.durationMs);
        c.proxy?.heal();
      }
    }
  }
}
