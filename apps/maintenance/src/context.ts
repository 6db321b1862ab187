import type { Database, DB } from '@penguinmails/schema'
import type { Kysely } from 'kysely'
import { openDatabase } from './database.js'
import type { MaintenanceEnv } from './env.js'
import { createLogger, describeError, type Logger } from './logger.js'
import { createProgress, type Progress } from './progress.js'

export interface MaintenanceContext {
  readonly env: MaintenanceEnv
  /** the pool: the run's own connection is in RunContext; events are recorded through this */
  readonly database: Database
  readonly logger: Logger
  readonly progress: Progress
  readonly now: () => Date
  close(): Promise<void>
}

/** What a command runs with: the context, the run's one connection (holding the run lock). */
export interface RunContext extends MaintenanceContext {
  readonly conn: Kysely<DB>
  readonly dryRun: boolean
  readonly actor: string
}

export interface ContextOverrides {
  /** a fixed clock (--now, tests) */
  now?: Date | undefined
  progress?: Progress
  logger?: Logger
  applicationName?: string
}

export function createContext(
  env: MaintenanceEnv,
  overrides: ContextOverrides = {},
): MaintenanceContext {
  const logger = overrides.logger ?? createLogger(env.logLevel)
  const database = openDatabase({
    databaseUrl: env.databaseUrl,
    dataDir: env.dataDir,
    // the run's connection and one for recording its outcome if that connection dies
    maxConnections: 2,
    applicationName: overrides.applicationName ?? 'penguinmails-maintenance',
    onConnectionError: (error) =>
      logger.warn({ ...describeError(error) }, 'database connection lost; the pool replaces it'),
  })
  const fixed = overrides.now
  return {
    env,
    database,
    logger,
    progress: overrides.progress ?? createProgress(),
    now: fixed ? () => new Date(fixed) : () => new Date(),
    close: () => database.destroy(),
  }
}
