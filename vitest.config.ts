import { defineConfig } from 'vitest/config';

// Integration tests start real PostgreSQL/MariaDB clusters and service processes; give them room
// and run files in parallel processes (2 cores: keep concurrency low so timings stay sane).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
