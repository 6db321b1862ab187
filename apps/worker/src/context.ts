import { createDatabase, type Database } from '@penguinmails/schema'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { type Logger, pino } from 'pino'
import type { DatabaseConfig, LogLevel } from './env.js'
import {
  DEFAULT_JOB_OPTIONS,
  EVENTS_MAX_LEN,
  QUEUE_NAMES,
  type QueueName,
  type Queues,
} from './queues.js'

// Factories only: importing this module opens nothing.

/** JSON lines on stdout, written synchronously so that the last lines survive a crash or exit. */
export function createLogger(level: LogLevel, name = 'penguinmails-worker'): Logger {
  return pino(
    {
      name,
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  )
}

/** What an error looks like in a log line. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { err: String(error) }
  const code = (error as { code?: unknown }).code
  return { err: error.message, ...(code ? { code } : {}), stack: error.stack }
}

/** PostgreSQL at config.databaseUrl, or the embedded PGlite database. */
export function createWorkerDatabase(
  config: DatabaseConfig,
  logger: Logger,
  applicationName = 'penguinmails-worker',
): Database {
  return createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    maxConnections: config.poolSize,
    applicationName,
    onIdleConnectionError: (error) =>
      logger.warn(describeError(error), 'idle database connection lost; the pool replaces it'),
  })
}

/**
 * A Redis connection for queues and workers. maxRetriesPerRequest null (what BullMQ requires of
 * workers): while Redis is away, commands wait for it to come back instead of failing.
 */
export function createRedisConnection(url: string, connectionName: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    connectionName,
    // reconnect quickly after an outage, at most every 2 s
    retryStrategy: (times) => Math.min(200 * times, 2_000),
  })
}

/** The three queues on one shared connection; each worker opens its own blocking one. */
export function createQueues(connection: Redis, prefix: string): Queues {
  const make = (name: QueueName) =>
    new Queue(QUEUE_NAMES[name], {
      connection,
      prefix,
      defaultJobOptions: DEFAULT_JOB_OPTIONS,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    })
  return { scheduled: make('scheduled'), drain: make('drain'), aggregate: make('aggregate') }
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()))
}
