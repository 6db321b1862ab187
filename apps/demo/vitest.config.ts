import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // a first start generates, migrates and aggregates on PGlite: tens of seconds on a busy machine
    hookTimeout: 240_000,
    testTimeout: 240_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
})
