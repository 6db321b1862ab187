/** The maintenance runner's configuration, read once from the environment. */
export interface MaintenanceEnv {
  /** PostgreSQL, as pm_writer; unset: the embedded PGlite database in `dataDir` */
  databaseUrl: string | undefined
  dataDir: string | undefined
  /** the HMAC key of erasure pseudonyms; never stored in the database */
  erasureKey: string | undefined
  /**
   * The worker's Redis (BullMQ queues), for `anonymize` to scrub the erased identifiers from the
   * jobs kept there; unset: not scrubbed, and the erasure's report says so
   */
  redisUrl: string | undefined
  /** the worker's BullMQ key prefix (WORKER_QUEUE_PREFIX of apps/worker) */
  queuePrefix: string
  /**
   * the API's Redis key prefix (REDIS_KEY_PREFIX of apps/api): its rate limiter's keys name the
   * tenant, so `anonymize` scrubs the keys under it too (in the Redis of `redisUrl`)
   */
  apiKeyPrefix: string
  statementTimeoutMs: number
  lockTimeoutMs: number
  /** who the audit trail names for runs that do not pass --actor */
  actor: string
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
}

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'EnvError'
  }
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const

/** Reads and checks the configuration; the only reader of process.env. */
export function readEnv(source: Record<string, string | undefined> = process.env): MaintenanceEnv {
  // an empty variable means unset, as in most deployment tools
  const get = (name: string) => (source[name] === '' ? undefined : source[name])
  const problems: string[] = []
  const integer = (name: string, min: number, max: number, fallback: number): number => {
    const raw = get(name)
    if (raw === undefined) return fallback
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
    if (Number.isNaN(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number of milliseconds from ${min} to ${max}`)
      return fallback
    }
    return value
  }
  const databaseUrl = get('DATABASE_URL')
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// URL')
  }
  const erasureKey = get('PM_ERASURE_KEY')
  if (erasureKey !== undefined && Buffer.byteLength(erasureKey) < 32) {
    problems.push(
      'PM_ERASURE_KEY must be at least 32 bytes (a random secret, e.g. openssl rand -hex 32)',
    )
  }
  const redisUrl = get('REDIS_URL')
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL')
  }
  const queuePrefix = get('WORKER_QUEUE_PREFIX') ?? '{pm}'
  if (!/^[^{}]*\{[^{}]+\}[^{}]*$/.test(queuePrefix)) {
    problems.push(
      "WORKER_QUEUE_PREFIX must be the worker's queue prefix, with one {hash tag} (e.g. {pm})",
    )
  }
  // the API's default: an API run without REDIS_KEY_PREFIX writes its keys under it
  const apiKeyPrefix = get('REDIS_KEY_PREFIX') ?? 'penguinmails:api:'
  const logLevel = get('LOG_LEVEL') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`)
  }
  const env: MaintenanceEnv = {
    databaseUrl,
    dataDir: get('PM_DATA_DIR'),
    erasureKey,
    redisUrl,
    queuePrefix,
    apiKeyPrefix,
    // archiving or analyzing a large month takes minutes; an unbounded statement is never right
    statementTimeoutMs: integer('PM_MAINTENANCE_STATEMENT_TIMEOUT_MS', 100, 86_400_000, 1_800_000),
    // DDL on a hot table queues every reader behind it: give up quickly and retry instead
    lockTimeoutMs: integer('PM_MAINTENANCE_LOCK_TIMEOUT_MS', 10, 600_000, 5_000),
    actor: get('PM_MAINTENANCE_ACTOR') ?? 'system:maintenance',
    logLevel: logLevel as MaintenanceEnv['logLevel'],
  }
  if (problems.length > 0) throw new EnvError(problems)
  return env
}
