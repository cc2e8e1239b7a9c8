/**
 * Timed simulator events other than message deliveries (faults, body
 * transfers, client writes): callbacks at virtual times, run in (time,
 * scheduling order), so runs never depend on tie-breaking.
 */

interface Scheduled {
  readonly at: number;
  readonly order: number;
  readonly label: string;
  readonly run: () => void;
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

export class Scheduler {
  private readonly heap: Scheduled[] = [];
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  nextAt(): number | undefined {
    return this.heap[0]?.at;
  }

  /** Runs `run` at virtual time `at`; `label` names it in the trace. */
  at(at: number, label: string, run: () => void): void {
    const h = this.heap;
    const item: Scheduled = { at, order: this.order++, label, run };
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Scheduled;
      if (!before(item, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = item;
  }

  /** Removes and returns the next event due at or before `until`. */
  popDue(until: number): Scheduled | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined || top.at > until) return undefined;
    const last = h.pop() as Scheduled;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && before(h[r] as Scheduled, h[l] as Scheduled) ? r : l;
        if (!before(h[m] as Scheduled, last)) break;
        h[i] = h[m] as Scheduled;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}
