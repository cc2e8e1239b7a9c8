// Lint rules: the recommended sets of eslint and typescript-eslint, plus the
// few habits STYLE.md asks for (type-only imports, no floating promises).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-output/**', 'coverage/**', '.scratch/**'] },
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
        patterns: [{ group: ['../*', 'node:fs*', 'node:net', 'node:http', 'fs', 'net', 'http', 'undici'], message: 'src/consensus is pure: no I/O and nothing else of ours' }],
      }],
    },
  },
  {
    // The Point imports nothing of the node.
    files: ['src/bootstrap/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../storage/*', '../gossip/*', '../http/*', '../node/*', '../consensus/*'], message: 'src/bootstrap imports nothing of the node' }],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' } },
  },
);
