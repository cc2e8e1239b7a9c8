#!/usr/bin/env node
/**
 * The `gossip-cdn` command. Each subcommand lives in src/node, src/bootstrap
 * or src/client and is wired here; every flag has an environment twin.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerBootstrapCommand } from './bootstrap/command.js';
import { registerNodeCommand } from './node/command.js';
import { registerDemoCommand } from './demo/command.js';
import { registerClientCommands } from './client/command.js';
import { exitWithParent } from './cli-support.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('gossip-cdn')
    .description('A content delivery network of equal nodes')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)');
  registerBootstrapCommand(program);
  registerNodeCommand(program);
  registerDemoCommand(program);
  registerClientCommands(program);
  return program;
}

exitWithParent();
await buildProgram().parseAsync(process.argv);
