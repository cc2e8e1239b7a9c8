/**
 * A short chaos run (tools/chaos): a real cluster (the Point on private Redis
 * and PostgreSQL, 5 node processes behind the fault proxy, each body owned by
 * 3 of them, at most 2 out at once, no cache) while clients write, overwrite,
 * delete and read, under every kind of fault. The run's own checker decides;
 * this test asserts its summary. The seed is random and printed, so a failure
 * can be replayed with `npm run chaos`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../../tools/chaos/schedule.js';
import { requireBuild, requireServiceBinaries } from '../helpers/prereqs.js';

// The runner starts private Redis and PostgreSQL from the binaries: check them (and the build) first.
requireBuild();
requireServiceBinaries();

const CHAOS_CLI = fileURLToPath(new URL('../../dist-tools/tools/chaos/cli.js', import.meta.url));
const DURATION_SECONDS = 20;
const SETUP = ['--nodes', '5', '--replicas', '3', '--max-down', '2', '--cache-size', '0'];
/** start-up + faults + convergence bound + final reads + shutdown, with room for a loaded machine */
const RUN_BOUND_MS = 300_000;

describe('chaos', () => {
  it(`a ${DURATION_SECONDS} s run with R=3 on 5 nodes loses no acknowledged write, converges with every body on its owners, and nothing crashes`, async () => {
    const seed = Math.floor(Math.random() * 2 ** 32);
    process.stderr.write(`chaos test: seed ${seed} (replay: npm run chaos -- --duration ${DURATION_SECONDS} --seed ${seed} ${SETUP.join(' ')})\n`);
    const child = spawn(process.execPath, [CHAOS_CLI, '--duration', String(DURATION_SECONDS), '--seed', String(seed), ...SETUP], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    // SIGTERM first: the runner still heals, checks and cleans up.
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_BOUND_MS);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    const lines = stdout.trim().split('\n');
    process.stderr.write(`chaos test: seed ${seed} summary: ${lines[lines.length - 1] ?? '(none)'}\n`);
    const summary = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown> & { faults: Record<string, number> };
    const context = `seed ${seed}\n${stdout.slice(-6000)}\n--- progress ---\n${stderr.slice(-4000)}`;
    expect(summary.seed, context).toBe(seed);
    expect(summary, context).toMatchObject({ nodes: 5, replicas: 3, maxDown: 2, cacheBytes: 0 });
    expect(summary.lost, context).toBe(0);
    expect(summary.converged, context).toBe(true);
    expect(summary.crashes, context).toBe(0);
    expect(summary.partialBodies, context).toBe(0);
    expect(summary.divergentKeys, context).toBe(0);
    expect(summary.staleFinalReads, context).toBe(0);
    expect(summary.ownerDisagreements, context).toBe(0);
    expect(summary.unconvergedBodies, context).toBe(0);
    // placement is in effect: every live body on at least its 3 owners, not necessarily on all 5
    expect((summary.bodyCopies as { min: number } | null)?.min, context).toBeGreaterThanOrEqual(3);
    for (const kind of FAULT_KINDS) expect(summary.faults[kind], `${kind}: ${context}`).toBeGreaterThan(0);
    expect(summary.acknowledged as number, context).toBeGreaterThan(20);
    expect(summary.convergenceSeconds as number, context).toBeLessThanOrEqual(summary.convergenceBoundSeconds as number);
    expect(code, context).toBe(0);
  }, RUN_BOUND_MS + 60_000);
});
