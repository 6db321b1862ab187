import type { Logger } from './logger.js'
import { MaintenanceError } from './report.js'

// lock_timeout expired, deadlock victim, serialization failure: the statement did nothing and can
// run again once the other sessions have moved on
const RETRYABLE = new Set(['55P03', '40P01', '40001'])

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** Runs `fn`, again after a pause when it lost a lock race, up to `attempts` times. */
export async function withRetries<T>(
  what: string,
  fn: () => Promise<T>,
  options: { logger: Logger; attempts?: number; pauseMs?: number },
): Promise<T> {
  const attempts = options.attempts ?? 5
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      const code = errorCode(error)
      if (!code || !RETRYABLE.has(code)) throw error
      if (attempt >= attempts) {
        throw new MaintenanceError(
          `${what}: gave up after ${attempts} attempts (${(error as Error).message}); other sessions kept the tables busy. Run it again later, or raise PM_MAINTENANCE_LOCK_TIMEOUT_MS`,
          { cause: error },
        )
      }
      const pause = (options.pauseMs ?? 500) * attempt
      options.logger.warn({ what, attempt, code, pauseMs: pause }, 'lock race lost; retrying')
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
}
