/**
 * What the benchmark scripts share when they read their flags (node:util
 * parseArgs does the parsing; this only checks the values).
 */
import process from 'node:process';

/**
 * A reader of whole-number flags from parseArgs `values`: `int(name, min, max)`
 * returns the number, or prints the rule and the usage and exits 2.
 */
export function wholeNumbers(values, usage) {
  return (name, min, max) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`--${name} must be a whole number from ${min} to ${max}\n\n${usage}`);
      process.exit(2);
    }
    return n;
  };
}
