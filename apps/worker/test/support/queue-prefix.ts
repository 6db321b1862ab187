import { randomBytes } from 'node:crypto'

/** A queue prefix of the test's own on the shared Redis, with a hash tag like the default. */
export function uniquePrefix(label: string): string {
  return `{pm-test-${label}-${randomBytes(4).toString('hex')}}`
}

/** The shared Redis of the test machine; tests only touch keys under their own prefix there. */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379'
