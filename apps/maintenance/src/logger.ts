import pino from 'pino'
import type { MaintenanceEnv } from './env.js'

export type Logger = pino.Logger

/** JSON lines on stderr (stdout carries the report). */
export function createLogger(level: MaintenanceEnv['logLevel']): Logger {
  return pino({ level, base: { app: 'maintenance' } }, pino.destination({ fd: 2, sync: true }))
}

/** What an error looks like in a log line. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) }
  const code = (error as { code?: unknown }).code
  return { error: error.message, ...(code ? { code } : {}) }
}
