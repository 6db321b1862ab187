import { recordAuditEntry } from '@penguinmails/audit-logger'
import { createDatabase, type Database, type DB } from '@penguinmails/schema'
import { Redis } from 'ioredis'
import type { Transaction } from 'kysely'
import type { AuditRecorder } from './audit-trail.js'
import type { ApiEnv } from './env.js'
import { createLogger, describeError, type Logger } from './logger.js'
import { HttpMetrics } from './metrics.js'
import { createRedisRateLimiter, type RateLimiter } from './rate-limit.js'
import { ResultCache } from './result-cache.js'

export interface ApiConfig {
  jwtSecret: string
  jwtIssuer?: string | undefined
  jwtAudience?: string | undefined
  /** applied to every statement of a request's transaction */
  statementTimeoutMs: number
  /** use the first X-Forwarded-For address as the client's (behind a proxy you run) */
  trustProxy: boolean
}

/** Test-only seams; the production context has none. */
export interface TestHooks {
  /** runs first in every request transaction, after the statement timeout is set */
  beforeRead?: (trx: Transaction<DB>) => Promise<void>
}

export interface AppContext {
  /** the primary: reads without a replica, and every write (admin audit entries) */
  readonly database: Database
  /** DATABASE_REPLICA_URL: where reads go when set */
  readonly replica?: Database
  readonly config: ApiConfig
  readonly logger: Logger
  readonly metrics: HttpMetrics
  /** writes an admin's audit entry in the request's transaction */
  readonly recordAudit: AuditRecorder
  readonly hooks?: TestHooks
  /** per-tenant request limits shared by every instance; absent without REDIS_URL */
  readonly rateLimiter?: RateLimiter
  /** member reads of the cacheable routes, by tenant data version; absent or empty: no caching */
  readonly resultCache?: ResultCache
  /** closes what the context opened (the database pool, the Redis connection) */
  close(): Promise<void>
  /** false once shutdown has begun: /readyz then tells the load balancer to stop sending */
  accepting: boolean
}

/** Clients built elsewhere and shared with the API (the demo's one embedded database). */
export interface ContextOverrides {
  /** used instead of a database built from DATABASE_URL / PM_DATA_DIR; close() destroys it */
  database?: Database
}

/** Builds the API's clients from its configuration; nothing connects until first used. */
export function createContext(env: ApiEnv, overrides: ContextOverrides = {}): AppContext {
  const logger = createLogger(env.LOG_LEVEL)
  const database =
    overrides.database ??
    createDatabase({
      databaseUrl: env.DATABASE_URL,
      dataDir: env.PM_DATA_DIR,
      maxConnections: env.DATABASE_POOL_SIZE,
      applicationName: 'penguinmails-api',
      onIdleConnectionError: (error) =>
        logger.warn('idle database connection lost; the pool replaces it', describeError(error)),
    })
  const replica = env.DATABASE_REPLICA_URL
    ? createDatabase({
        databaseUrl: env.DATABASE_REPLICA_URL,
        maxConnections: env.DATABASE_POOL_SIZE,
        applicationName: 'penguinmails-api-replica',
        onIdleConnectionError: (error) =>
          logger.warn('idle replica connection lost; the pool replaces it', describeError(error)),
      })
    : undefined
  const redis = env.REDIS_URL
    ? new Redis(env.REDIS_URL, {
        // a slow or absent Redis must not hold requests: the limiter gives up and lets them pass
        commandTimeout: 250,
        maxRetriesPerRequest: 1,
      })
    : undefined
  redis?.on('error', (error) => logger.warn('redis connection error', describeError(error)))
  const metrics = new HttpMetrics()
  const resultCache = new ResultCache(env.API_RESULT_CACHE_BYTES)
  if (resultCache.enabled) metrics.resultCacheBytes = () => resultCache.bytes
  return {
    database,
    ...(resultCache.enabled ? { resultCache } : {}),
    ...(replica ? { replica } : {}),
    logger,
    ...(redis
      ? {
          rateLimiter: createRedisRateLimiter(
            redis,
            {
              limit: env.RATE_LIMIT_REQUESTS,
              windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
              prefix: env.REDIS_KEY_PREFIX,
            },
            logger,
          ),
        }
      : {}),
    async close() {
      redis?.disconnect()
      await Promise.all([database.destroy(), replica?.destroy()])
    },
    metrics,
    recordAudit: recordAuditEntry,
    accepting: true,
    config: {
      jwtSecret: env.JWT_SECRET,
      jwtIssuer: env.JWT_ISSUER,
      jwtAudience: env.JWT_AUDIENCE,
      statementTimeoutMs: env.STATEMENT_TIMEOUT_MS,
      trustProxy: env.TRUST_PROXY,
    },
  }
}
