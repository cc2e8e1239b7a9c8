#!/usr/bin/env node
/**
 * The `gossip-cdn` command. Each subcommand lives in src/node, src/bootstrap,
 * src/demo or src/client and is wired here; every flag has an environment twin.
 *
 * Start-up cost is paid only for what runs: a subcommand's module (and the
 * libraries it needs: express, zod, pino, undici...) is imported only when
 * that subcommand is named. `--version` loads nothing but commander; the
 * top-level help and an unknown command load every group, so that help lists
 * them all and a typo gets its suggestion.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { exitWithParent } from './cli-support.js';

type Register = (program: Command) => void;

/** The subcommand groups: the names each registers, and how to load it. */
const GROUPS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['bootstrap'], load: async () => (await import('./bootstrap/command.js')).registerBootstrapCommand },
  { names: ['node'], load: async () => (await import('./node/command.js')).registerNodeCommand },
  { names: ['demo'], load: async () => (await import('./demo/command.js')).registerDemoCommand },
  { names: ['auth'], load: async () => (await import('./auth/command.js')).registerAuthCommand },
  { names: ['put', 'get', 'rm', 'status'], load: async () => (await import('./client/command.js')).registerClientCommands },
];

const VERSION_FLAGS = new Set(['-V', '--version']);

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The program with the groups `argv` needs: the one it names, none for
 * `--version`, all otherwise. Without `argv`, every group (for tests and help).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('gossip-cdn')
    .description('A content delivery network of equal nodes')
    .version(version())
    .showHelpAfterError('(run with --help for usage)');
  const first = argv?.[2];
  const named = GROUPS.filter((g) => first !== undefined && g.names.includes(first));
  const groups = named.length > 0 ? named : first !== undefined && VERSION_FLAGS.has(first) ? [] : GROUPS;
  for (const register of await Promise.all(groups.map((g) => g.load()))) register(program);
  return program;
}

exitWithParent();
await (await buildProgram(process.argv)).parseAsync(process.argv);
