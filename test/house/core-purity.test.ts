/**
 * The line between the gossip protocol core and its I/O shell is a lint
 * rule, not a habit: these probes run the project's own ESLint config on
 * code placed (by path, never on disk) in src/gossip/core and in
 * src/gossip/shell, and check that the core refuses I/O modules, the shell,
 * the wall clock, randomness and timers, while the shell may use them.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The probes are not part of the TypeScript project, so type-aware parsing is
// off for them (and with it the one rule that needs types).
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: [{
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  }],
});

async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${path}` });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const IMPURE: Record<string, string> = {
  'node:fs': "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
  'node:fs/promises': "import { readFile } from 'node:fs/promises';\nexport const f = readFile;\n",
  'node:http': "import { request } from 'node:http';\nexport const f = request;\n",
  'node:net': "import { connect } from 'node:net';\nexport const f = connect;\n",
  undici: "import { request } from 'undici';\nexport const f = request;\n",
  'p-queue': "import PQueue from 'p-queue';\nexport const q = new PQueue();\n",
  'the shell': "import { GossipRuntime } from '../shell/runtime.js';\nexport const r = GossipRuntime;\n",
  'Date.now': 'export const now = (): number => Date.now();\n',
  'new Date()': 'export const now = (): Date => new Date();\n',
  'Math.random': 'export const pick = (): number => Math.random();\n',
  setTimeout: 'export const later = (f: () => void): unknown => setTimeout(f, 1);\n',
  setInterval: 'export const every = (f: () => void): unknown => setInterval(f, 1);\n',
};

describe('the protocol core is pure by rule', () => {
  for (const [what, code] of Object.entries(IMPURE)) {
    it(`refuses ${what} in src/gossip/core`, async () => {
      const found = await problems('src/gossip/core/probe.ts', code);
      expect(found.length).toBeGreaterThan(0);
      for (const p of found) expect(p).toMatch(/^no-restricted-(imports|properties|globals|syntax): .*protocol core/);
    });
  }

  it('accepts injected time and randomness and hashing in the core', async () => {
    const code = [
      "import { createHash } from 'node:crypto';",
      "import type { Clock, Random } from './types.js';",
      'export const stamp = (clock: Clock, random: Random): string =>',
      "  createHash('sha256').update(`${clock.now()}:${random.next()}`).digest('hex');",
      '',
    ].join('\n');
    expect(await problems('src/gossip/core/probe.ts', code)).toEqual([]);
  });

  it('lets the shell do I/O, read the clock and set timers', async () => {
    for (const what of ['node:fs', 'undici', 'Date.now', 'Math.random', 'setTimeout']) {
      expect(await problems('src/gossip/shell/probe.ts', IMPURE[what] as string), what).toEqual([]);
    }
  });
});
