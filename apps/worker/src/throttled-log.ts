import type { Logger } from 'pino'

/**
 * Logs a warning at most once per interval per message: during a Redis outage BullMQ and ioredis
 * report the same error many times a second. Repeats are counted, not lost.
 */
export function throttled(logger: Logger, intervalMs: number) {
  const last = new Map<string, { at: number; suppressed: number }>()
  return (message: string, fields: Record<string, unknown> & { err?: unknown }) => {
    const key = `${message}\u0000${String(fields.err ?? '')}`
    const now = Date.now()
    const seen = last.get(key)
    if (seen && now - seen.at < intervalMs) {
      seen.suppressed += 1
      return
    }
    last.set(key, { at: now, suppressed: 0 })
    logger.warn({ ...fields, ...(seen?.suppressed ? { repeated: seen.suppressed } : {}) }, message)
  }
}
