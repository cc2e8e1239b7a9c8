#!/usr/bin/env node
/**
 * `npm run sim -- --nodes N --seed S [--keys K]`: runs the standard scenario
 * (scenarios.ts) and prints its report as one JSON line, the last line on
 * stdout. Progress goes to stderr. Exits 1 (printing the command that
 * replays the run) when the run did not converge, 2 on a bad flag.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PARTITION_ROUNDS, runStandardScenario } from './scenarios.js';
import type { LatencyName, ProfileName } from './profiles.js';
import type { WireMode } from './sim-network.js';

interface SimFlags {
  nodes: number;
  seed: number;
  keys: number;
  profile: ProfileName;
  latency: LatencyName;
  loss: number;
  wire: WireMode;
  partitionRounds: number;
  idleRounds: number;
  maxRounds: number;
  maxPeers?: number;
  quiet?: boolean;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
    return n;
  };
}

function rate(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`${name} must be a number in [0, 1) (got ${JSON.stringify(value)})`);
    return n;
  };
}

export function buildSimProgram(): Command {
  const program = new Command();
  program
    .name('sim')
    .description('Runs the standard gossip scenario on simulated nodes and prints one JSON line')
    .requiredOption('--nodes <n>', 'number of simulated nodes', integer('--nodes', 1, 100_000))
    .option('--seed <s>', 'seed: one seed gives exactly one run', integer('--seed', 0, 0xffffffff), 1)
    .option('--keys <k>', 'keys every node holds from the start', integer('--keys', 0, 10_000_000), 100)
    .addOption(new Option('--profile <name>', 'gossip timing profile').choices(['production', 'local-test']).default('production'))
    .addOption(new Option('--latency <model>', 'link latency model').choices(['lan', 'wan']).default('lan'))
    .option('--loss <rate>', 'message loss rate', rate('--loss'), 0)
    .addOption(new Option('--wire <mode>', 'json, or validated: check every message against the wire schema (slower)').choices(['json', 'validated']).default('json'))
    .option('--partition-rounds <r>', 'rounds the half/half partition lasts', integer('--partition-rounds', 0, 100_000), DEFAULT_PARTITION_ROUNDS)
    .option('--idle-rounds <r>', 'after boot, let membership news settle, then measure idle traffic for this many rounds (0: skip)', integer('--idle-rounds', 0, 100_000), 0)
    .option('--max-rounds <r>', 'give up on a phase after this many rounds', integer('--max-rounds', 1, 1_000_000), 300)
    .option('--max-peers <n>', 'each node\'s active view, as the node\'s --max-peers (default: the profile\'s, 32)', integer('--max-peers', 3, 4095))
    .option('--quiet', 'no progress on stderr')
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(`sim: ${text.trim().replace(/^error: /, 'error: ').split('\n')[0] ?? text}\n`) })
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  return program;
}

async function main(): Promise<void> {
  const program = buildSimProgram();
  program.parse(process.argv);
  const flags = program.opts<SimFlags>();
  const started = performance.now();
  const log = (line: string) => {
    if (flags.quiet !== true) process.stderr.write(`${line}\n`);
  };
  const report = await runStandardScenario({
    nodes: flags.nodes,
    seed: flags.seed,
    keys: flags.keys,
    profile: flags.profile,
    latency: flags.latency,
    loss: flags.loss,
    wire: flags.wire,
    partitionRounds: flags.partitionRounds,
    idleRounds: flags.idleRounds,
    maxPhaseRounds: flags.maxRounds,
    ...(flags.maxPeers === undefined ? {} : { maxPeers: flags.maxPeers }),
    stopwatch: () => performance.now(),
    onPhase: (phase, detail) => log(`sim: ${phase}: ${detail} (${((performance.now() - started) / 1000).toFixed(1)} s)`),
  });
  process.stdout.write(`${JSON.stringify({ ...report, wallMs: { ...report.wallMs, total: Math.round(performance.now() - started) } })}\n`);
  if (!report.converged) {
    const replay = `--nodes ${flags.nodes} --seed ${flags.seed} --keys ${flags.keys} --profile ${flags.profile} --latency ${flags.latency} --loss ${flags.loss} --wire ${flags.wire} --partition-rounds ${flags.partitionRounds} --idle-rounds ${flags.idleRounds} --max-rounds ${flags.maxRounds}${flags.maxPeers === undefined ? '' : ` --max-peers ${flags.maxPeers}`}`;
    process.stderr.write(`sim: did not converge (seed ${flags.seed}); replay with: npm run sim -- ${replay}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  process.exit(1);
});
