/**
 * `check(x)`: the few matchers of vitest's `expect` that the consensus
 * property bodies use, with the same meaning, at a fraction of the cost.
 * vitest's expect spends tens of microseconds on its own bookkeeping per
 * call, and these properties make hundreds of thousands of calls: it was
 * half of versions.test.ts's time, and of hlc.test.ts's. Example tests
 * keep using expect.
 */
import assert from 'node:assert/strict';

/**
 * Structural equality as toEqual sees these values (plain objects, arrays,
 * primitives; an object's prototype is not compared, since fast-check
 * builds some records without one), but stricter in one way: a key holding
 * undefined is not the same as a missing key.
 */
function sameStructure(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && sameStructure(ra[k], rb[k]));
}

/** toBe is Object.is, toEqual as above, toThrow takes an Error class or a RegExp for the message. */
export function check<T>(actual: T) {
  // the message is built only on failure: building it every time cost more than the check
  const must = (ok: boolean, what: () => string): void => { if (!ok) assert.fail(`expected ${show(actual)} ${what()}`); };
  return {
    toBe(expected: unknown): void { must(Object.is(actual, expected), () => `to be ${show(expected)}`); },
    toEqual(expected: unknown): void { must(sameStructure(actual, expected), () => `to equal ${show(expected)}`); },
    toBeLessThan(bound: number): void { must((actual as number) < bound, () => `< ${bound}`); },
    toBeLessThanOrEqual(bound: number): void { must((actual as number) <= bound, () => `<= ${bound}`); },
    toBeGreaterThan(bound: number): void { must((actual as number) > bound, () => `> ${bound}`); },
    toBeGreaterThanOrEqual(bound: number): void { must((actual as number) >= bound, () => `>= ${bound}`); },
    toBeInstanceOf(type: abstract new (...args: never[]) => unknown): void { must(actual instanceof type, () => `to be an instance of ${type.name}`); },
    toThrow(expected: (abstract new (...args: never[]) => Error) | RegExp): void {
      if (typeof actual !== 'function') assert.fail('toThrow needs a function');
      try {
        (actual as () => unknown)();
      } catch (err) {
        const ok = expected instanceof RegExp ? expected.test(err instanceof Error ? err.message : String(err)) : err instanceof expected;
        if (!ok) assert.fail(`expected a throw matching ${expected instanceof RegExp ? String(expected) : expected.name}, got ${String(err)}`);
        return;
      }
      assert.fail(`expected a throw matching ${expected instanceof RegExp ? String(expected) : expected.name}, but nothing was thrown`);
    },
  };
}

function show(x: unknown): string {
  return JSON.stringify(x) ?? String(x);
}
