import { ROLES } from '@penguinmails/schema'
import type { TestDatabase } from '@penguinmails/schema/testing'
import pino from 'pino'
import { createContext, type MaintenanceContext, type RunContext } from '../../src/context.js'
import { readEnv } from '../../src/env.js'

export const ERASURE_KEY = 'test-erasure-key-0123456789abcdef0123456789abcdef'

/** A maintenance context connected as pm_writer to the test database, as production runs it. */
export function writerContext(
  database: TestDatabase,
  options: { now?: Date; env?: Record<string, string>; applicationName?: string } = {},
): MaintenanceContext {
  const env = readEnv({
    DATABASE_URL: database.url(ROLES.writer),
    PM_ERASURE_KEY: ERASURE_KEY,
    LOG_LEVEL: 'silent',
    ...options.env,
  })
  return createContext(env, {
    now: options.now,
    logger: pino({ level: 'silent' }),
    applicationName: options.applicationName ?? 'pm-maintenance-test',
  })
}

/** Runs a command function on one connection of the context, without the runner's lock. */
export async function onOneConnection<T>(
  ctx: MaintenanceContext,
  fn: (run: RunContext) => Promise<T>,
  options: { dryRun?: boolean } = {},
): Promise<T> {
  return ctx.database.db
    .connection()
    .execute((conn) =>
      fn({ ...ctx, conn, dryRun: options.dryRun ?? false, actor: 'test:maintenance' }),
    )
}
