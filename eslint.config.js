// Lint rules: the recommended sets of eslint and typescript-eslint, the habits
// STYLE.md asks for (type-only imports, no floating promises), and the
// architecture's lines as rules: src/consensus a pure leaf, the Point apart from the node, and the gossip
// protocol core (src/gossip/core) free of I/O, timers, wall clocks and
// randomness, which its shell (src/gossip/shell) injects. Import cycles
// (type-only ones included) are refused by madge in `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that do I/O or schedule work: none may enter a pure part. */
const IO_MODULES = [
  'fs', 'node:fs', 'node:fs/*', 'fs/*', 'net', 'node:net', 'http', 'node:http', 'https', 'node:https', 'http2', 'node:http2',
  'dgram', 'node:dgram', 'dns', 'node:dns', 'child_process', 'node:child_process', 'worker_threads', 'node:worker_threads',
  'timers', 'node:timers', 'node:timers/*', 'undici', 'p-queue', 'ioredis', 'pg', 'express',
];

/** Calls that read the wall clock, draw randomness or start a timer. */
const IMPURE_CALLS = [
  { object: 'Date', property: 'now', message: 'the protocol core takes its clock as an injected dependency' },
  { object: 'Math', property: 'random', message: 'the protocol core takes its random source as an injected dependency' },
  { object: 'performance', property: 'now', message: 'the protocol core takes its clock as an injected dependency' },
  { object: 'crypto', property: 'randomUUID', message: 'the protocol core takes its random source as an injected dependency' },
  { object: 'crypto', property: 'getRandomValues', message: 'the protocol core takes its random source as an injected dependency' },
];
const TIMERS = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask']
  .map((name) => ({ name, message: 'the protocol core has no timers: the shell calls tick() and delivers messages' }));

export default tseslint.config(
  { ignores: ['dist/**', 'dist-tools/**', 'node_modules/**', 'test-output/**', 'coverage/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/utils', '**/utils.js'], message: 'name a file after what it holds' }] }],
    },
  },
  {
    // src/consensus is a pure leaf: no I/O, nothing else of ours.
    files: ['src/consensus/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../*', ...IO_MODULES], message: 'src/consensus is pure: no I/O and nothing else of ours' }],
      }],
    },
  },
  {
    // The gossip protocol core: a state machine over an injected transport, clock and
    // random source, so the same code runs over HTTP and in the simulator.
    files: ['src/gossip/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: IO_MODULES, message: 'the protocol core does no I/O: the shell (src/gossip/shell) does it and injects it' },
          { group: ['../shell/*', '../../node/*', '../../http/*', '../../storage/*', '../../bootstrap/*', '../../client/*', '../../demo/*'],
            message: 'the protocol core imports only consensus, identity, log types and its own files' },
        ],
      }],
      'no-restricted-properties': ['error', ...IMPURE_CALLS],
      'no-restricted-globals': ['error', ...TIMERS],
      'no-restricted-syntax': ['error', {
        selector: "NewExpression[callee.name='Date'][arguments.length=0]",
        message: 'the protocol core takes its clock as an injected dependency',
      }],
    },
  },
  {
    // The Point imports nothing of the node.
    files: ['src/bootstrap/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../storage/*', '../gossip/*', '../gossip/**', '../http/*', '../node/*', '../consensus/*'], message: 'src/bootstrap imports nothing of the node' }],
      }],
    },
  },
  {
    // The shipped product never reaches into the tools (simulator, chaos harness, test doubles).
    files: ['src/**/*.ts'],
    ignores: ['src/consensus/**', 'src/gossip/core/**', 'src/bootstrap/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/tools/**', '**/test/**'], message: 'the product does not import the tools or the tests' },
          { group: ['**/utils', '**/utils.js'], message: 'name a file after what it holds' },
        ],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' } },
  },
);
