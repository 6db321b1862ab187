import type { Logger } from 'pino'
import { describeError } from './context.js'
import { throttled } from './throttled-log.js'

export interface RepairLoop {
  /** runs a pass as soon as possible (e.g. Redis came back) */
  trigger(): void
  stop(): Promise<void>
}

/**
 * Runs `pass` now and then every interval, one pass at a time; a trigger during a pass runs
 * another right after it. Errors are logged and the loop goes on.
 */
export function startRepairLoop(
  pass: () => Promise<void>,
  intervalMs: number,
  logger: Logger,
): RepairLoop {
  let stopped = false
  let again = true
  let wake: (() => void) | undefined
  const warn = throttled(logger, 30_000)
  const done = (async () => {
    while (!stopped) {
      if (again) {
        again = false
        try {
          await pass()
        } catch (error) {
          warn('repair pass failed; retrying', describeError(error))
        }
        continue
      }
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, intervalMs).unref()
      })
      wake = undefined
      again = true
    }
  })()
  return {
    trigger() {
      again = true
      wake?.()
    },
    async stop() {
      stopped = true
      wake?.()
      // a pass may be waiting for Redis to come back: do not wait for it for long
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1_000).unref())])
    },
  }
}
