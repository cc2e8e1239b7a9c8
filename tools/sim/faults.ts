/**
 * Faults a simulation can suffer, as plain data so a scenario can print the
 * plan it ran and schedule it in virtual time:
 *
 * - network: partitions (two halves; two halves joined only through a bridge
 *   node; one way only), loss, duplication, latency models (jitter reorders);
 * - processes: crash (memory lost, store kept or wiped) and restart, pause
 *   and resume (memory kept), slow nodes (late ticks, late reads).
 *
 * Node choices (which half, which bridge) come from the simulation's seeded
 * source, so they are part of the run its seed replays.
 */
import type { LatencyModel } from './latency.js';
import type { SimNode } from './sim-node.js';
import type { Simulation } from './simulation.js';

export type Fault =
  /** two random halves that cannot reach each other */
  | { readonly kind: 'partition' }
  /** two random halves that reach each other only through one node, which reaches both */
  | { readonly kind: 'bridge' }
  /** a random half cannot send to the other half; the other way works */
  | { readonly kind: 'one-way' }
  /** removes every cut */
  | { readonly kind: 'heal' }
  | { readonly kind: 'loss'; readonly rate: number }
  | { readonly kind: 'duplicate'; readonly rate: number }
  | { readonly kind: 'latency'; readonly model: LatencyModel }
  | { readonly kind: 'crash'; readonly nodes: readonly number[]; readonly wipe?: boolean }
  | { readonly kind: 'restart'; readonly nodes: readonly number[] }
  | { readonly kind: 'pause'; readonly nodes: readonly number[] }
  | { readonly kind: 'resume'; readonly nodes: readonly number[] }
  /** ticks every `tickEvery`-th tick and reads messages `inboundDelayMs` late; 1 and 0 undo it */
  | { readonly kind: 'slow'; readonly nodes: readonly number[]; readonly tickEvery: number; readonly inboundDelayMs: number };

/** What a partition fault did: the sides (and the bridge), for checks and reports. */
export interface Split {
  readonly a: SimNode[];
  readonly b: SimNode[];
  readonly bridge?: SimNode;
}

/** The running nodes in two random halves (seeded). */
export function randomHalves(sim: Simulation): Split {
  const nodes = sim.upNodes();
  for (let i = nodes.length - 1; i > 0; i--) {
    const j = sim.pick(i + 1);
    [nodes[i], nodes[j]] = [nodes[j] as SimNode, nodes[i] as SimNode];
  }
  const half = Math.floor(nodes.length / 2);
  return { a: nodes.slice(0, half), b: nodes.slice(half) };
}

const ids = (nodes: readonly SimNode[]) => nodes.map((n) => n.id);

/** Applies one fault now; returns the split for partition faults. */
export function applyFault(sim: Simulation, fault: Fault): Split | undefined {
  const net = sim.net;
  switch (fault.kind) {
    case 'partition': {
      const split = randomHalves(sim);
      net.partition(ids(split.a), ids(split.b));
      return split;
    }
    case 'bridge': {
      const halves = randomHalves(sim);
      const bridge = halves.a.pop();
      if (bridge === undefined) return halves;
      net.partition(ids(halves.a), ids(halves.b));
      return { a: halves.a, b: halves.b, bridge };
    }
    case 'one-way': {
      const split = randomHalves(sim);
      net.cut(ids(split.a), ids(split.b));
      return split;
    }
    case 'heal':
      net.heal();
      return undefined;
    case 'loss':
      net.link = { ...net.link, loss: fault.rate };
      return undefined;
    case 'duplicate':
      net.link = { ...net.link, duplicate: fault.rate };
      return undefined;
    case 'latency':
      net.link = { ...net.link, latency: fault.model };
      return undefined;
    case 'crash':
      for (const i of fault.nodes) sim.node(i).crash(fault.wipe === true);
      return undefined;
    case 'restart':
      for (const i of fault.nodes) {
        const node = sim.node(i);
        node.restart(sim.look(node));
      }
      return undefined;
    case 'pause':
      for (const i of fault.nodes) sim.node(i).pause();
      return undefined;
    case 'resume':
      for (const i of fault.nodes) sim.node(i).resume();
      return undefined;
    case 'slow':
      for (const i of fault.nodes) {
        const node = sim.node(i);
        node.tickEvery = Math.max(1, Math.floor(fault.tickEvery));
        net.setInboundDelay(node.id, fault.inboundDelayMs);
      }
      return undefined;
  }
}

/** Applies `fault` at virtual time `at`; `done` receives the split, if any. */
export function scheduleFault(sim: Simulation, at: number, fault: Fault, done?: (split: Split | undefined) => void): void {
  sim.at(at, `fault ${describeFault(fault)}`, () => {
    const split = applyFault(sim, fault);
    done?.(split);
  });
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'partition':
    case 'bridge':
    case 'one-way':
    case 'heal':
      return fault.kind;
    case 'loss':
    case 'duplicate':
      return `${fault.kind} ${fault.rate}`;
    case 'latency':
      return `latency ${fault.model.kind}`;
    case 'slow':
      return `slow ${fault.nodes.join(',')} every ${fault.tickEvery} +${fault.inboundDelayMs}ms`;
    case 'crash':
      return `crash ${fault.nodes.join(',')}${fault.wipe === true ? ' wipe' : ''}`;
    default:
      return `${fault.kind} ${fault.nodes.join(',')}`;
  }
}
