import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    hookTimeout: 300_000,
    testTimeout: 300_000,
    pool: 'forks',
    // the files mostly wait (on PostgreSQL, on child processes, on killed sessions): two at a time
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
})
