/**
 * A binary heap under a caller's strict order: `before(a, b)` is true when
 * `a` must come out first. Pure and allocation-light; the simulator's
 * network and scheduler share it.
 */
export class BinaryHeap<T> {
  protected readonly heap: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const h = this.heap;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as T;
      if (!this.before(item, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = item;
  }

  pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    h[0] = last;
    this.siftDown(0);
    return top;
  }

  /** Keeps only the items `keep` accepts, then restores the heap order (O(n)). */
  retain(keep: (item: T) => boolean): void {
    const h = this.heap;
    let w = 0;
    for (const item of h) if (keep(item)) h[w++] = item;
    h.length = w;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[start] as T;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && this.before(h[r] as T, h[l] as T)) m = r;
      if (!this.before(h[m] as T, item)) break;
      h[i] = h[m] as T;
      i = m;
    }
    h[i] = item;
  }
}
