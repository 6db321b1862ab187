import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { ensureDailyPartitions, monthsToWrite } from './partitions.js'
import {
  checkWorkMem,
  DEFAULT_WORK_MEM,
  type RecomputeResult,
  recompute,
  recomputeInTransaction,
} from './recompute.js'
import { addDays, type Day, NO_END, NO_START, normalizeScope } from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { lockTenants } from './tenant-lock.js'

export interface FullRecomputeOptions {
  /** default: every tenant */
  tenantIds?: string[]
  /** tenant-local days, half-open; default: all of them */
  fromDay?: Day
  toDay?: Day
  /** tenants per transaction (at most; see concurrency) */
  tenantsPerBatch?: number
  /**
   * Transactions (batches of tenants) in flight at once, each on its own pooled connection;
   * default 2. The tenants are then dealt into at least this many batches. On PGlite, one
   * connection, the batches run one after the other.
   */
  concurrency?: number
  /**
   * PostgreSQL `work_mem` of each transaction (default 128MB; hash nodes get twice as much). A
   * backfill of millions of emails per batch spills its sorts and hashes to disk below ≈ 1GB;
   * each of the `concurrency` transactions may use several times this at once.
   */
  workMem?: string
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
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2))
  const workMem = checkWorkMem(options.workMem ?? DEFAULT_WORK_MEM)
  // Batches of tenants run concurrently: disjoint tenants take disjoint locks, and each batch keeps
  // the single-transaction protocol (its tenants' locks, their dirty keys deleted with the
  // recompute), so a batch waits for no other and a pool of any size cannot deadlock. Tenants are
  // dealt round-robin so that big and small ones spread over the batches.
  const batchCount = Math.max(
    Math.ceil(tenantIds.length / (options.tenantsPerBatch ?? 50)),
    Math.min(concurrency, tenantIds.length),
  )
  const batches: string[][] = Array.from({ length: batchCount }, () => [])
  for (const [i, t] of tenantIds.entries()) batches[i % batchCount]?.push(t)
  const totals = new Map<string, TableCounts>()
  let tenantsDone = 0
  // every batch's partitions before any batch writes: a partition created while another batch's
  // transaction writes the same tables can deadlock with it
  const months = await monthsToWrite(
    db,
    normalizeScope({ tenants: tenantIds.map((tenantId) => ({ tenantId, fromDay, toDay })) }),
  )
  if (months) await ensureDailyPartitions(db, months)
  const runBatch = async (batch: string[]) => {
    const scope = normalizeScope({
      tenants: batch.map((tenantId) => ({ tenantId, fromDay, toDay })),
    })
    const counts = await db.transaction().execute(async (trx) => {
      await lockTenants(trx, batch)
      if (whole) {
        await sql`delete from analytics_dirty_keys where tenant_id = any(${batch}::text[])`.execute(
          trx,
        )
      }
      return recomputeInTransaction(trx, scope, { workMem })
    })
    for (const c of counts) {
      const t = totals.get(c.table) ?? { table: c.table, upserted: 0, deleted: 0 }
      totals.set(c.table, {
        ...t,
        upserted: t.upserted + c.upserted,
        deleted: t.deleted + c.deleted,
      })
    }
    tenantsDone += batch.length
    options.onProgress?.({ tenantsDone, tenantsTotal: tenantIds.length, counts })
  }
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, batches.length) }, async () => {
    for (let i = next++; i < batches.length; i = next++) await runBatch(batches[i] as string[])
  })
  // every lane finishes its batch before the first error is thrown: nothing is left running
  const settled = await Promise.allSettled(lanes)
  const failed = settled.find((r) => r.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
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
