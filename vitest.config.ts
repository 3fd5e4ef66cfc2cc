import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real sockets live only on 127.0.0.1:0; everything else is deterministic.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Log events go to .vitest-logs/, and a failed test's are printed with it.
    setupFiles: ['test/setup/capture-logs.ts'],
  },
});
