/**
 * Bounded polling: tests wait for a condition, never for a fixed time. One
 * copy, in tools/chaos/wait.ts (the chaos runner needs it too).
 */
export { waitFor, type WaitOptions } from '../../tools/chaos/wait.js';
