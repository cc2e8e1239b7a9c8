/**
 * Bounded polling: tests wait for a condition, never for a fixed time. One
 * copy, in src/chaos/wait.ts (the chaos runner needs it too).
 */
export { waitFor, type WaitOptions } from '../../src/chaos/wait.js';
