import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    hookTimeout: 300_000,
    testTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
})
