/**
 * One-way latency distributions for simulated links. Each is plain data (so a
 * scenario can print the model it ran with) and is sampled from the
 * simulator's seeded random source. Jitter is what reorders messages: two
 * messages on one link arrive out of order whenever the second draws a
 * shorter latency than the first.
 */
import type { SeededRandom } from './seeded-random.js';

export type LatencyModel =
  /** always `ms` */
  | { readonly kind: 'constant'; readonly ms: number }
  /** uniform in [min, max] */
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number }
  /**
   * min + a log-normal tail with the given median and shape: the usual shape
   * of measured RTTs (most messages near the median, a few much later)
   */
  | { readonly kind: 'lognormal'; readonly min: number; readonly median: number; readonly sigma: number }
  /** min + exponential with the given mean (memoryless queueing delay) */
  | { readonly kind: 'exponential'; readonly min: number; readonly mean: number };

/** A LAN-like default: 1 ms floor, median 2 ms above it, a tail to ~20 ms. */
export const LAN_LATENCY: LatencyModel = Object.freeze({ kind: 'lognormal', min: 1, median: 2, sigma: 0.8 });

/** A WAN-like model: 20 ms floor, median 30 ms above it, a long tail. */
export const WAN_LATENCY: LatencyModel = Object.freeze({ kind: 'lognormal', min: 20, median: 30, sigma: 0.7 });

/** Latencies are capped so that one unlucky draw cannot stall a run. */
export const MAX_LATENCY_MS = 10_000;

/** Draws one latency in ms (≥ 0, ≤ MAX_LATENCY_MS). */
export function sampleLatency(model: LatencyModel, random: SeededRandom): number {
  let ms: number;
  switch (model.kind) {
    case 'constant':
      ms = model.ms;
      break;
    case 'uniform':
      ms = model.min + random.next() * (model.max - model.min);
      break;
    case 'lognormal':
      ms = model.min + model.median * Math.exp(model.sigma * standardNormal(random));
      break;
    case 'exponential':
      ms = model.min - model.mean * Math.log(1 - random.next());
      break;
  }
  return Math.min(MAX_LATENCY_MS, Math.max(0, ms));
}

/** Box–Muller; uses two draws so the stream stays aligned whatever the value. */
function standardNormal(random: SeededRandom): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A short human form, for reports: "lognormal(1+2ms,σ0.8)". */
export function describeLatency(model: LatencyModel): string {
  switch (model.kind) {
    case 'constant':
      return `constant(${model.ms}ms)`;
    case 'uniform':
      return `uniform(${model.min}-${model.max}ms)`;
    case 'lognormal':
      return `lognormal(${model.min}+${model.median}ms,σ${model.sigma})`;
    case 'exponential':
      return `exponential(${model.min}+${model.mean}ms)`;
  }
}
