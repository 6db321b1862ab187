import type { DB } from '@penguinmails/schema'
import { type Kysely, type QueryExecutorProvider, sql, type Transaction } from 'kysely'
import { recomputeBillingAnalytics } from './billing-analytics.js'
import { recomputeCampaignAnalytics } from './campaign-analytics.js'
import { recomputeLeadAnalytics } from './lead-analytics.js'
import { recomputeMailboxAnalytics } from './mailbox-analytics.js'
import { ensureDailyPartitions, monthsToWrite } from './partitions.js'
import {
  isEmptyScope,
  type NormalizedScope,
  normalizeScope,
  type RecomputeScope,
} from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { lockTenants } from './tenant-lock.js'

/** The default `work_mem` of a recompute's transaction. */
export const DEFAULT_WORK_MEM = '128MB'

/**
 * Checks a PostgreSQL memory setting given by a caller ('512MB', '1GB'), so that a typo fails
 * before any transaction starts rather than as a server error halfway through a backfill.
 */
export function checkWorkMem(value: string): string {
  const m = /^(\d+)\s*(kB|MB|GB)$/.exec(value.trim())
  const kb = m ? Number(m[1]) * { kB: 1, MB: 1024, GB: 1024 * 1024 }[m[2] as 'kB' | 'MB' | 'GB'] : 0
  // PostgreSQL's own bounds of work_mem: 64 kB to 2 TB
  if (!m || kb < 64 || kb > 2_147_483_647)
    throw new RangeError(
      `work memory must be a size from 64kB to 2TB such as 128MB or 1GB (kB, MB or GB), got "${value}"`,
    )
  return `${m[1]}${m[2]}`
}

/**
 * Settings of the recompute's transaction. Big scopes aggregate millions of rows: let them hash in
 * memory rather than sort on disk (hash nodes get twice work_mem). JIT off: these statements are
 * costed high enough to be compiled, and compiling their hundreds of expressions took 5–6 s of a
 * 26 s statement at 1M emails, more than it saved.
 */
export async function sessionSettings(
  trx: QueryExecutorProvider,
  workMem: string = DEFAULT_WORK_MEM,
): Promise<void> {
  await sql`select set_config('work_mem', ${checkWorkMem(workMem)}, true), set_config('hash_mem_multiplier', '2', true),
                   set_config('jit', 'off', true)`.execute(trx)
}

export interface RecomputeResult {
  counts: TableCounts[]
  durationMs: number
}

export class MissingPartitionError extends Error {
  constructor(readonly counts: TableCounts[]) {
    super(
      `rows fell into a default partition (${counts
        .filter((c) => c.inDefaultPartition)
        .map((c) => `${c.table}: ${c.inDefaultPartition}`)
        .join(', ')}); their monthly partitions are missing — the recompute was rolled back`,
    )
    this.name = 'MissingPartitionError'
  }
}

export function scopeTenants(scope: NormalizedScope): string[] {
  return [
    ...new Set([
      ...scope.tenants.map((t) => t.tenantId),
      ...scope.campaignDays.map((t) => t.tenantId),
      ...scope.mailboxDays.map((t) => t.tenantId),
      ...scope.leads.map((t) => t.tenantId),
      ...scope.campaignLeads.map((t) => t.tenantId),
      ...scope.billingMonths.map((t) => t.tenantId),
      ...scope.billingAll,
    ]),
  ]
}

/** Runs every table's statement for the scope, inside the caller's transaction (locks held). */
export async function recomputeInTransaction(
  trx: Transaction<DB>,
  scope: NormalizedScope,
  options: { workMem?: string } = {},
): Promise<TableCounts[]> {
  await sessionSettings(trx, options.workMem)
  const counts = [
    ...(await recomputeCampaignAnalytics(trx, scope)),
    ...(await recomputeMailboxAnalytics(trx, scope)),
    ...(await recomputeLeadAnalytics(trx, scope)),
    await recomputeBillingAnalytics(trx, scope),
  ]
  if (counts.some((c) => (c.inDefaultPartition ?? 0) > 0)) throw new MissingPartitionError(counts)
  return counts
}

/**
 * Recomputes the scope from source in one transaction, holding each tenant's lock, after making
 * sure the months it writes have their partitions.
 */
export async function recompute(db: Kysely<DB>, scope: RecomputeScope): Promise<RecomputeResult> {
  const started = performance.now()
  const normalized = normalizeScope(scope)
  if (isEmptyScope(normalized)) return { counts: [], durationMs: 0 }
  const months = await monthsToWrite(db, normalized)
  if (months) await ensureDailyPartitions(db, months)
  const counts = await db.transaction().execute(async (trx) => {
    await lockTenants(trx, scopeTenants(normalized))
    return recomputeInTransaction(trx, normalized)
  })
  return { counts, durationMs: performance.now() - started }
}
