import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { ensureDailyPartitions, monthsToWrite } from './partitions.js'
import { type RecomputeResult, recompute, recomputeInTransaction } from './recompute.js'
import { addDays, type Day, NO_END, NO_START, normalizeScope } from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { lockTenants } from './tenant-lock.js'

export interface FullRecomputeOptions {
  /** default: every tenant */
  tenantIds?: string[]
  /** tenant-local days, half-open; default: all of them */
  fromDay?: Day
  toDay?: Day
  /** tenants per transaction */
  tenantsPerBatch?: number
  onProgress?: (progress: {
    tenantsDone: number
    tenantsTotal: number
    counts: TableCounts[]
  }) => void
}

/**
 * Recomputes every analytics row of the tenants (all of them by default) over the range, a batch
 * of tenants per transaction. Over the whole range it also clears the tenants' dirty keys recorded
 * before it started: the recompute covers them.
 */
export async function recomputeAll(
  db: Kysely<DB>,
  options: FullRecomputeOptions = {},
): Promise<RecomputeResult & { tenants: number }> {
  const started = performance.now()
  const tenantIds =
    options.tenantIds ??
    (await db.selectFrom('tenants').select('id').orderBy('id').execute()).map((t) => t.id)
  const fromDay = options.fromDay ?? NO_START
  const toDay = options.toDay ?? NO_END
  const whole = fromDay === NO_START && toDay === NO_END
  const perBatch = options.tenantsPerBatch ?? 50
  const totals = new Map<string, TableCounts>()
  for (let i = 0; i < tenantIds.length; i += perBatch) {
    const batch = tenantIds.slice(i, i + perBatch)
    const scope = normalizeScope({
      tenants: batch.map((tenantId) => ({ tenantId, fromDay, toDay })),
    })
    const months = await monthsToWrite(db, scope)
    if (months) await ensureDailyPartitions(db, months)
    const counts = await db.transaction().execute(async (trx) => {
      await lockTenants(trx, batch)
      if (whole) {
        await sql`delete from analytics_dirty_keys where tenant_id = any(${batch}::text[])`.execute(
          trx,
        )
      }
      return recomputeInTransaction(trx, scope)
    })
    for (const c of counts) {
      const t = totals.get(c.table) ?? { table: c.table, upserted: 0, deleted: 0 }
      totals.set(c.table, {
        ...t,
        upserted: t.upserted + c.upserted,
        deleted: t.deleted + c.deleted,
      })
    }
    options.onProgress?.({
      tenantsDone: Math.min(i + perBatch, tenantIds.length),
      tenantsTotal: tenantIds.length,
      counts,
    })
  }
  return {
    counts: [...totals.values()],
    durationMs: performance.now() - started,
    tenants: tenantIds.length,
  }
}

/** The seed's daily job: every table of one tenant for one local day (and its billing month). */
export function recomputeTenantDay(
  db: Kysely<DB>,
  job: { tenantId: string; day: Day },
): Promise<RecomputeResult> {
  return recompute(db, {
    tenants: [{ tenantId: job.tenantId, fromDay: job.day, toDay: addDays(job.day, 1) }],
  })
}

/** The seed's campaign job: one campaign (one day of it, or all), its steps and its leads. */
export function recomputeCampaign(
  db: Kysely<DB>,
  job: { tenantId: string; campaignId: string; day?: Day },
): Promise<RecomputeResult> {
  return recompute(db, {
    campaignDays: [
      {
        tenantId: job.tenantId,
        campaignId: job.campaignId,
        fromDay: job.day ?? NO_START,
        toDay: job.day ? addDays(job.day, 1) : NO_END,
      },
    ],
    campaignLeads: [{ tenantId: job.tenantId, campaignId: job.campaignId }],
  })
}

/** The seed's billing job: one tenant-local month ('YYYY-MM-01'). */
export function recomputeBillingPeriod(
  db: Kysely<DB>,
  job: { tenantId: string; month: Day },
): Promise<RecomputeResult> {
  return recompute(db, { billingMonths: [{ tenantId: job.tenantId, month: job.month }] })
}
