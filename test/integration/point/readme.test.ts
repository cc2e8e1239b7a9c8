/**
 * The README's Point section stays true: its curl walkthrough and join-token
 * example run as written against a real Point (real Redis and Postgres),
 * and it documents every Point error code and every flag with its env twin.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerBootstrapCommand } from '../../../src/bootstrap/command.js';
import { ERROR_CODES } from '../../../src/errors.js';
import { postgresForTests, redisForTests, type Service } from '../../helpers/services.js';
import { requireTools } from '../../helpers/prereqs.js';
import { startTestPoint, type TestPoint } from './harness.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('<!-- point:start -->'), readme.indexOf('<!-- point:end -->'));

function block(marker: string): string {
  const at = section.indexOf(`<!-- readme-test:${marker} -->`);
  expect(at, `README has no readme-test:${marker} block`).toBeGreaterThan(-1);
  return /```sh\n([\s\S]*?)```/.exec(section.slice(at))?.[1] ?? '';
}

/** Runs a script asynchronously: the Point answering it lives in this process. */
async function run(script: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  clearTimeout(timer);
  return { status, stdout, stderr };
}

describe('README: the Point section', () => {
  test('documents every Point error code with its status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      if (code.startsWith('POINT_')) expect(section, code).toContain(`| \`${code}\` | ${spec.status} |`);
    }
  });

  test('documents every bootstrap flag with its environment twin', () => {
    const program = new Command();
    registerBootstrapCommand(program);
    const bootstrap = program.commands.find((c) => c.name() === 'bootstrap')!;
    for (const option of bootstrap.options) {
      expect(section, option.long).toContain(`\`${option.flags}\``);
      expect(section, option.envVar).toContain(`\`${option.envVar}\``);
    }
  });
});

describe(`README: the Point's examples run as written`, () => {
  let redis: Service;
  let postgres: Service;
  let open: TestPoint | undefined;
  beforeAll(async () => {
    requireTools(['curl', 'openssl', 'basenc']); // first: one line naming what is missing
    [redis, postgres] = await Promise.all([redisForTests(), postgresForTests()]);
  });
  afterAll(async () => {
    await open?.close();
    await Promise.all([redis?.close(), postgres?.close()]); // unset when a prerequisite was missing
  });

  test('the curl walkthrough of every call', async () => {
    const point = await startTestPoint(redis, postgres, { banDurationSec: 60, peerPoints: ['http://10.0.0.1:8080'] });
    open = point;
    const result = await run(block('point-api'), { POINT: point.point.url });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('"ttl":20');
    expect(result.stdout).toContain('[{"url":"http://10.0.0.1:8080"}]');
    expect(result.stdout).toContain('"removed":false');
    expect(result.stdout).toMatch(/"ip":"127\.0\.0\.3","reports":2,"quorum":2,"banned":true/);
    expect(result.stdout).toContain('POINT_ERR_BANNED');
    expect(result.stdout).toContain('point_registrations_total 3');
    expect(result.stdout).toContain('3.1.0');
    await point.close();
    open = undefined;
  });

  test('the join-token example', async () => {
    const secret = 'the README cluster secret';
    const point = await startTestPoint(redis, postgres, { clusterSecret: secret });
    open = point;
    const helpers = block('point-api').split('\n').filter((line) => /^(json|post|keypair|pubkey|reg)\(\)/.test(line)).join('\n');
    const result = await run(`${helpers}\n${block('point-join-token')}`, { POINT: point.point.url, CLUSTER_SECRET: secret });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/"key":"[A-Za-z0-9_-]{43}"/);
    const wrong = await run(`${helpers}\n${block('point-join-token')}`, { POINT: point.point.url, CLUSTER_SECRET: 'not the secret' });
    expect(wrong.status).not.toBe(0);
    await point.close();
    open = undefined;
  });
});
