import { bootstrapDatabase, type DB, migrate, ROLES } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { runAnalyze } from './analyze.js'
import { runAnonymize } from './anonymize.js'
import { runArchive } from './archive.js'
import type { CommandOptions, CommonOptions } from './args.js'
import type { MaintenanceContext, RunContext } from './context.js'
import { describeError } from './logger.js'
import { runPartitions } from './partitions.js'
import { runRefresh } from './refresh.js'
import { type CommandReport, MaintenanceError } from './report.js'
import { errorCode } from './retry.js'
import { acquireRunLock, releaseRunLock } from './run-lock.js'
import { recordRun } from './trail.js'
import { runVerify } from './verify.js'

export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3 } as const

export interface RunOutcome {
  exitCode: 0 | 1 | 3
  command: CommandOptions['command']
  report?: CommandReport
  error?: Error
  /** one line for whoever started it */
  message: string
}

export type RunArgs = CommonOptions & CommandOptions

/**
 * Runs one maintenance command: on one connection that holds the maintenance lock (or exits with
 * code 3 when another run holds it, unless --wait), with statement and lock timeouts, then records
 * the run (a maintenance system event, and an audit entry) unless it was a dry run.
 */
export async function runCommand(ctx: MaintenanceContext, args: RunArgs): Promise<RunOutcome> {
  const calledAt = new Date()
  // when the lock was taken: what the run's duration and the "never overlap" guarantee refer to
  let startedAt = calledAt
  // when it let the lock go (or failed): the next run's startedAt is never before it
  let endedAt: Date | undefined
  const actor = args.actor ?? ctx.env.actor
  let outcome: RunOutcome
  try {
    await prepareEmbeddedDatabase(ctx)
    outcome = await ctx.database.db.connection().execute(async (conn) => {
      await checkRole(ctx, conn)
      const lock = await acquireRunLock(conn, {
        wait: args.wait,
        onWait: (holder) =>
          ctx.logger.info(
            { holder },
            'another maintenance command is running; waiting for it to finish (--wait)',
          ),
      })
      if (!lock.acquired) {
        const who = lock.holder
          ? ` (session ${lock.holder.pid}, ${lock.holder.applicationName || 'no application name'}, connected since ${lock.holder.since?.toISOString() ?? '?'})`
          : ''
        return {
          exitCode: EXIT.busy,
          command: args.command,
          message: `not run: another maintenance command holds the maintenance lock${who}. Run again later, or with --wait to queue behind it`,
        }
      }
      startedAt = new Date()
      ctx.logger.info(
        { command: args.command, dryRun: args.dryRun, actor },
        'maintenance run started',
      )
      try {
        await sql`select set_config('statement_timeout', ${String(ctx.env.statementTimeoutMs)}, false),
                         set_config('lock_timeout', ${String(ctx.env.lockTimeoutMs)}, false)`.execute(
          conn,
        )
        const run: RunContext = { ...ctx, conn, dryRun: args.dryRun, actor }
        const report = await dispatch(run, args)
        const failed = report.problems.length > 0
        return {
          exitCode: failed ? EXIT.failed : EXIT.ok,
          command: args.command,
          report,
          message: failed
            ? `${args.command} found ${report.problems.length} problem(s):\n${report.problems.map((p) => `  - ${p}`).join('\n')}`
            : `${args.command}${args.dryRun ? ' (dry run)' : ''} done`,
        }
      } finally {
        endedAt = new Date()
        // a connection that died took its session lock with it
        await releaseRunLock(conn).catch(() => undefined)
      }
    })
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error))
    const failure = statementTimedOut(err)
      ? Object.assign(
          new MaintenanceError(
            `a statement ran longer than the statement_timeout of this run (PM_MAINTENANCE_STATEMENT_TIMEOUT_MS = ${ctx.env.statementTimeoutMs} ms) and was cancelled: ${err.message}. Its transaction was rolled back, so nothing of that step was kept. Raise PM_MAINTENANCE_STATEMENT_TIMEOUT_MS, or run the command when the database is less busy`,
            { cause: err },
          ),
          { code: STATEMENT_TIMEOUT },
        )
      : err
    outcome = {
      exitCode: EXIT.failed,
      command: args.command,
      error: failure,
      message: `${args.command} failed: ${failure.message}`,
    }
  }
  ctx.progress.finish()
  ctx.logger.info(
    {
      command: args.command,
      exitCode: outcome.exitCode,
      durationMs: (endedAt ?? new Date()).getTime() - startedAt.getTime(),
    },
    'maintenance run ended',
  )
  if (outcome.exitCode !== EXIT.busy && !args.dryRun) {
    try {
      await recordRun(ctx.database.db, {
        command: args.command,
        actor,
        startedAt,
        endedAt: endedAt ?? new Date(),
        waitedMs: startedAt.getTime() - calledAt.getTime(),
        outcome: outcome.exitCode === EXIT.ok ? 'succeeded' : 'failed',
        details: outcome.report?.details ?? {},
        problems: outcome.report?.problems ?? [],
        error: outcome.error,
        auditedInTransaction: outcome.report?.auditedInTransaction === true,
      })
    } catch (error) {
      ctx.logger.error({ ...describeError(error) }, 'could not record the run in the audit trail')
      if (outcome.exitCode === EXIT.ok) {
        outcome = {
          ...outcome,
          exitCode: EXIT.failed,
          message: `${args.command} was done but could not be recorded in the audit trail: ${(error as Error).message}`,
        }
      }
    }
  }
  return outcome
}

// query_canceled: also what pg_cancel_backend raises, told apart by the server's message
const STATEMENT_TIMEOUT = '57014'

/** The error, or one of its causes, is PostgreSQL cancelling a statement for statement_timeout. */
function statementTimedOut(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (errorCode(e) === STATEMENT_TIMEOUT && /statement timeout/i.test((e as Error).message))
      return true
  }
  return false
}

function dispatch(run: RunContext, args: RunArgs): Promise<CommandReport> {
  switch (args.command) {
    case 'partitions':
      return runPartitions(run, args)
    case 'archive':
      return runArchive(run, args)
    case 'refresh':
      return runRefresh(run)
    case 'analyze':
      return runAnalyze(run)
    case 'anonymize':
      return runAnonymize(run, args)
    case 'verify':
      return runVerify(run, args)
  }
}

// The embedded database is created and migrated here; its one session then runs as the writer,
// as a PostgreSQL deployment would.
async function prepareEmbeddedDatabase(ctx: MaintenanceContext): Promise<void> {
  if (ctx.database.kind !== 'pglite') return
  await bootstrapDatabase(ctx.database.db)
  await migrate(ctx.database.db, 'latest')
  await sql`set role ${sql.id(ROLES.writer)}`.execute(ctx.database.db)
}

async function checkRole(ctx: MaintenanceContext, conn: Kysely<DB>): Promise<void> {
  const { rows } = await sql<{ role: string; rolsuper: boolean; writer: boolean }>`
    select current_user as role, r.rolsuper,
           pg_has_role(current_user, ${ROLES.writer}, 'MEMBER') as writer
      from pg_roles r where r.rolname = current_user`.execute(conn)
  const me = rows[0]
  if (me?.rolsuper) {
    ctx.logger.warn(
      { role: me.role },
      `connected as a superuser; the runner is meant to connect as ${ROLES.writer}`,
    )
    return
  }
  if (!me?.writer) {
    throw new MaintenanceError(
      `the database role "${me?.role}" cannot act as ${ROLES.writer}: connect as ${ROLES.writer} (DATABASE_URL=postgres://${ROLES.writer}@<host>/<database>), the role made for the worker and the maintenance runner`,
    )
  }
}
