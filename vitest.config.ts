import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests start real processes and
// real Redis/Postgres, so they get longer timeouts and run a few files at once
// (the machine has 2 cores).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default'],
  },
});
