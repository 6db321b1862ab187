import { z } from 'zod'
import { MAINTENANCE_COMMANDS, type MaintenanceCommand } from './maintenance.js'

// The only reader of process.env: every setting is named, checked and defaulted here.

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

const integer = (name: string, min: number, max: number, fallback: number, unit = '') =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number${unit}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `${name} must be at least ${min}${unit}`)
        .max(max, `${name} must be at most ${max}${unit}`),
    )
    .optional()
    .transform((v) => v ?? fallback)

const database = {
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL')
    .optional(),
  PM_DATA_DIR: z.string().min(1).optional(),
  DATABASE_POOL_SIZE: integer('DATABASE_POOL_SIZE', 1, 200, 10),
}

const DatabaseSchema = z.object(database)

const WorkerSchema = z.object({
  ...database,
  REDIS_URL: z
    .string({
      error:
        'REDIS_URL is required: the Redis the BullMQ queues live in (e.g. redis://127.0.0.1:6379)',
    })
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL'),
  // a {hash tag}: Redis Cluster hashes only the tag, so every key of a queue shares one slot
  WORKER_QUEUE_PREFIX: z
    .string()
    .regex(
      /^[^{}]*\{[^{}]+\}[^{}]*$/,
      'WORKER_QUEUE_PREFIX must contain one {hash tag}, e.g. {pm}, so that all keys of a queue land in one Redis Cluster slot',
    )
    .default('{pm}'),
  WORKER_CONCURRENCY: integer('WORKER_CONCURRENCY', 1, 64, 2),
  WORKER_SWEEP_INTERVAL_MS: integer('WORKER_SWEEP_INTERVAL_MS', 100, 60_000, 1_000, ' (ms)'),
  WORKER_REPAIR_INTERVAL_MS: integer('WORKER_REPAIR_INTERVAL_MS', 500, 3_600_000, 5_000, ' (ms)'),
  WORKER_SHUTDOWN_TIMEOUT_MS: integer('WORKER_SHUTDOWN_TIMEOUT_MS', 0, 3_600_000, 30_000, ' (ms)'),
  WORKER_HEALTH_HOST: z.string().min(1).default('0.0.0.0'),
  WORKER_HEALTH_PORT: integer('WORKER_HEALTH_PORT', 0, 65_535, 9464),
  WORKER_MAX_LAG_MS: integer('WORKER_MAX_LAG_MS', 1_000, 86_400_000, 60_000, ' (ms)'),
  WORKER_LOCK_DURATION_MS: integer('WORKER_LOCK_DURATION_MS', 1_000, 600_000, 30_000, ' (ms)'),
  WORKER_STALLED_INTERVAL_MS: integer('WORKER_STALLED_INTERVAL_MS', 500, 600_000, 15_000, ' (ms)'),
  WORKER_DRAIN_DELAY_SECONDS: integer('WORKER_DRAIN_DELAY_SECONDS', 1, 300, 5, ' (seconds)'),
  // maintenance commands scheduled from the worker (PostgreSQL only): a comma-separated list, or none
  WORKER_MAINTENANCE: z
    .string()
    .default('partitions')
    .transform((raw) =>
      raw.trim() === 'none' ? [] : [...new Set(raw.split(',').map((c) => c.trim()))],
    )
    .refine(
      (commands) => commands.every((c) => (MAINTENANCE_COMMANDS as readonly string[]).includes(c)),
      `WORKER_MAINTENANCE must be "none" or a comma-separated list of ${MAINTENANCE_COMMANDS.join(', ')}`,
    )
    .transform((commands) => commands as MaintenanceCommand[]),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
})

/** Where the database is: PostgreSQL at `databaseUrl`, else embedded PGlite in `dataDir`. */
export interface DatabaseConfig {
  databaseUrl: string | undefined
  dataDir: string | undefined
  poolSize: number
}

export interface WorkerConfig extends DatabaseConfig {
  redisUrl: string
  /** prefix of every BullMQ key, with a {hash tag} */
  queuePrefix: string
  /** jobs each queue's worker runs at once */
  concurrency: number
  /** how often the job scheduler's sweep turns dirty keys into drain jobs */
  sweepIntervalMs: number
  /** how often each process checks the schedulers and re-enqueues whatever is dirty itself */
  repairIntervalMs: number
  /** how long a SIGTERM waits for active jobs before giving up (exit 1) */
  shutdownTimeoutMs: number
  healthHost: string
  /** 0: any free port (logged) */
  healthPort: number
  /** the health check fails when the oldest dirty key is older than this */
  maxLagMs: number
  lockDurationMs: number
  stalledIntervalMs: number
  /** seconds a worker long-polls an empty queue (BullMQ drainDelay) */
  drainDelaySeconds: number
  /** maintenance commands the worker schedules (with PostgreSQL; see maintenance.ts) */
  maintenanceCommands: MaintenanceCommand[]
  logLevel: LogLevel
}

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'EnvError'
  }
}

function parse<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
): z.output<S> {
  // an empty variable means unset, as in most deployment tools
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''))
  const parsed = schema.safeParse(present)
  if (parsed.success) return parsed.data
  throw new EnvError(
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment')
      return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`
    }),
  )
}

/** The aggregate CLI's configuration: the database only (it never talks to Redis). */
export function readDatabaseConfig(
  source: Record<string, string | undefined> = process.env,
): DatabaseConfig {
  const env = parse(DatabaseSchema, source)
  return {
    databaseUrl: env.DATABASE_URL,
    dataDir: env.PM_DATA_DIR,
    poolSize: env.DATABASE_POOL_SIZE,
  }
}

/** The worker's configuration; throws EnvError listing every problem at once. */
export function readWorkerConfig(
  source: Record<string, string | undefined> = process.env,
): WorkerConfig {
  const env = parse(WorkerSchema, source)
  if (env.WORKER_STALLED_INTERVAL_MS > env.WORKER_LOCK_DURATION_MS) {
    throw new EnvError([
      `WORKER_STALLED_INTERVAL_MS (${env.WORKER_STALLED_INTERVAL_MS}) must not exceed WORKER_LOCK_DURATION_MS (${env.WORKER_LOCK_DURATION_MS}): a crashed job would wait needlessly long to be recovered`,
    ])
  }
  return {
    databaseUrl: env.DATABASE_URL,
    dataDir: env.PM_DATA_DIR,
    poolSize: env.DATABASE_POOL_SIZE,
    redisUrl: env.REDIS_URL,
    queuePrefix: env.WORKER_QUEUE_PREFIX,
    concurrency: env.WORKER_CONCURRENCY,
    sweepIntervalMs: env.WORKER_SWEEP_INTERVAL_MS,
    repairIntervalMs: env.WORKER_REPAIR_INTERVAL_MS,
    shutdownTimeoutMs: env.WORKER_SHUTDOWN_TIMEOUT_MS,
    healthHost: env.WORKER_HEALTH_HOST,
    healthPort: env.WORKER_HEALTH_PORT,
    maxLagMs: env.WORKER_MAX_LAG_MS,
    lockDurationMs: env.WORKER_LOCK_DURATION_MS,
    stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
    drainDelaySeconds: env.WORKER_DRAIN_DELAY_SECONDS,
    maintenanceCommands: env.WORKER_MAINTENANCE,
    logLevel: env.LOG_LEVEL,
  }
}
