import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests start real processes and
// real Redis/Postgres, so they get longer timeouts and run a few files at once
// (the machine has 2 cores). What a test needs from the machine (the build,
// redis-server, PostgreSQL, Chromium, curl) it checks first, in one line
// (test/helpers/prereqs.ts); `npm test` installs what it can beforehand
// (scripts/test-prereqs.mjs).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
