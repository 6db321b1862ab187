import { type DB, ROLES, withTenant } from '@penguinmails/schema'
import type { Context, MiddlewareHandler } from 'hono'
import { sql, type Transaction } from 'kysely'
import type { AppEnv } from './app-env.js'
import { type AuditTarget, auditEntry } from './audit-trail.js'
import type { AppContext } from './context.js'
import { describeError } from './logger.js'
import { ProblemError } from './problem.js'

/** A transaction left idle this long (a client that stopped reading an export) is ended. */
const IDLE_IN_TRANSACTION_MS = 60_000

async function prepare(trx: Transaction<DB>, context: AppContext): Promise<void> {
  // local to the transaction: the pooled connection goes back without them. The idle timeout
  // bounds how long a stalled CSV download can hold a pooled connection between two pages.
  await sql`select set_config('statement_timeout', ${String(context.config.statementTimeoutMs)}, true),
                   set_config('idle_in_transaction_session_timeout', ${String(IDLE_IN_TRANSACTION_MS)}, true)`.execute(
    trx,
  )
  await context.hooks?.beforeRead?.(trx)
}

/**
 * Runs one request's reads in one transaction: as the reader role scoped to `tenantId` (row level
 * security applies), or, for the admin tables (`tenantId` null), as the admin role. An admin's
 * read writes its audit entry in that same transaction, after the read, so the data is returned
 * only if the entry is committed with it; a failed admin read is audited in a transaction of its
 * own, since the read's rolls back.
 */
export async function scopedRead<T>(
  c: Context<AppEnv>,
  context: AppContext,
  target: Omit<AuditTarget, 'tenantId'> & { tenantId: string | null },
  read: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  const admin = c.get('principal').role === 'admin'
  // with a replica the read runs there, and an admin's audit entry is committed on the primary
  // after it and before the data is returned; without one, both share the read's transaction
  const { db } = context.replica ?? context.database
  const auditInRead = admin && !context.replica
  const auditTarget: AuditTarget = { ...target, tenantId: target.tenantId ?? undefined }
  if (admin) c.set('auditHandled', true)
  const body = async (trx: Transaction<DB>) => {
    await prepare(trx, context)
    const result = await read(trx)
    if (auditInRead)
      await context.recordAudit(
        trx,
        auditEntry(c, context.config.trustProxy, auditTarget, { outcome: 'success' }),
      )
    return result
  }
  try {
    let result: T
    if (target.tenantId !== null)
      result = await withTenant(db, target.tenantId, body, {
        role: admin ? ROLES.admin : ROLES.reader,
        // one snapshot for the watermark, the rows and any totals or comparison read beside them;
        // an admin read that appends its audit entry in the same transaction stays read committed,
        // as the entry updates the audit chain's head row
        isolation: auditInRead ? 'read committed' : 'repeatable read',
      })
    else {
      if (!admin) throw new Error('scopedRead: the admin tables are read by admins only')
      result = await db.transaction().execute(async (trx) => {
        await sql`select set_config('role', ${ROLES.admin}, true)`.execute(trx)
        return body(trx)
      })
    }
    if (admin && !auditInRead)
      await context.database.db.transaction().execute(async (trx) => {
        await sql`select set_config('role', ${ROLES.admin}, true)`.execute(trx)
        await context.recordAudit(
          trx,
          auditEntry(c, context.config.trustProxy, auditTarget, { outcome: 'success' }),
        )
      })
    return result
  } catch (error) {
    if (admin) await auditFailure(c, context, auditTarget, error)
    throw error
  }
}

async function auditFailure(
  c: Context<AppEnv>,
  context: AppContext,
  target: AuditTarget,
  error: unknown,
): Promise<void> {
  const status = error instanceof ProblemError ? error.problem.status : undefined
  const code = (error as { code?: unknown } | null)?.code
  try {
    await context.database.db.transaction().execute(async (trx) => {
      await sql`select set_config('role', ${ROLES.admin}, true)`.execute(trx)
      await context.recordAudit(
        trx,
        auditEntry(c, context.config.trustProxy, target, {
          outcome: 'failure',
          ...(status ? { status } : {}),
          ...(typeof code === 'string' ? { errorCode: code } : {}),
        }),
      )
    })
  } catch (auditError) {
    context.logger.error('could not audit a failed admin read', {
      requestId: c.get('requestId'),
      ...describeError(auditError),
    })
  }
}

/**
 * Audits admin requests that failed before reaching scopedRead (bad parameters, unknown cursor):
 * every admin request leaves one entry, failures included.
 */
export function auditRejectedAdminRequests(
  context: AppContext,
  resourceType: string,
  /** where the read's tenant comes from: the path, the token, or none (admin tables) */
  tenantFrom: 'path' | 'token' | 'none',
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('auditHandled', false)
    await next()
    if (c.get('principal')?.role !== 'admin' || c.get('auditHandled') || c.res.status < 400) return
    c.set('auditHandled', true)
    await auditFailure(
      c,
      context,
      {
        action: 'read',
        resourceType,
        tenantId:
          tenantFrom === 'path'
            ? c.req.param('tenantId')?.slice(0, 200)
            : tenantFrom === 'token'
              ? c.get('principal').tenantId
              : undefined,
      },
      new ProblemError({
        type: 'rejected',
        title: 'rejected',
        status: c.res.status,
        detail: 'rejected before the read',
      }),
    )
  }
}
