import type { TenantFreshnessAndVersion } from '@penguinmails/bi-queries'
import { type DB, queryAsRole, ROLES, withTenant } from '@penguinmails/schema'
import type { Context, MiddlewareHandler } from 'hono'
import { sql, type Transaction } from 'kysely'
import type { AppEnv } from './app-env.js'
import { type AuditTarget, auditEntry } from './audit-trail.js'
import type { AppContext } from './context.js'
import { FreshnessProbe, PROBE_SQL, type ProbeRow, probeResults } from './freshness-probe.js'
import { describeError } from './logger.js'
import { ProblemError } from './problem.js'

/** A transaction left idle this long (a client that stopped reading an export) is ended. */
const IDLE_IN_TRANSACTION_MS = 60_000

/**
 * The settings of every request transaction, set by the statement that sets its role (and tenant):
 * local to the transaction, so the pooled connection goes back without them. The idle timeout
 * bounds how long a stalled CSV download can hold a pooled connection between two pages.
 */
export function requestSettings(context: AppContext): Record<string, string> {
  return {
    statement_timeout: String(context.config.statementTimeoutMs),
    idle_in_transaction_session_timeout: String(IDLE_IN_TRANSACTION_MS),
  }
}

/** Sets the role and the request settings in one statement, for transactions without a tenant. */
async function setRole(trx: Transaction<DB>, role: string, context: AppContext): Promise<void> {
  const settings = Object.entries(requestSettings(context)).map(
    ([name, value]) => sql`, set_config(${name}, ${value}, true)`,
  )
  await sql`select set_config('role', ${role}, true)${sql.join(settings, sql``)}`.execute(trx)
}

const probes = new WeakMap<AppContext, FreshnessProbe>()

/** The context's freshness probe (its database and settings), made when first needed. */
export function freshnessProbe(context: AppContext): FreshnessProbe {
  let probe = probes.get(context)
  if (!probe) {
    const database = context.replica ?? context.database
    const settings = requestSettings(context)
    probe = new FreshnessProbe(
      async (tenantIds) =>
        probeResults(
          await queryAsRole<ProbeRow>(database, ROLES.admin, PROBE_SQL, tenantIds, { settings }),
        ),
      (tenants, requests) => context.metrics.freshnessProbeSent(tenants, requests),
    )
    probes.set(context, probe)
  }
  return probe
}

/**
 * A member's freshness watermark and data version, read live: all a result cache hit needs from
 * the database. The hits waiting at one moment, of any tenants, share one statement (FreshnessProbe,
 * sent after they arrived), run as the admin role through pm_tenant_freshness, which returns
 * nothing but those figures; the tenant comes from the request's verified token.
 */
export function memberFreshnessAndVersion(
  context: AppContext,
  tenantId: string,
): Promise<TenantFreshnessAndVersion> {
  return freshnessProbe(context).probe(tenantId)
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
    await context.hooks?.beforeRead?.(trx)
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
        settings: requestSettings(context),
        // one snapshot for the watermark, the rows and any totals or comparison read beside them;
        // an admin read that appends its audit entry in the same transaction stays read committed,
        // as the entry updates the audit chain's head row
        isolation: auditInRead ? 'read committed' : 'repeatable read',
      })
    else {
      if (!admin) throw new Error('scopedRead: the admin tables are read by admins only')
      result = await db.transaction().execute(async (trx) => {
        await setRole(trx, ROLES.admin, context)
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
