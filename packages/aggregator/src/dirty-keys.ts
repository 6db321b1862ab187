import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { ensureDailyPartitions, monthsToWrite, partitionsKnown } from './partitions.js'
import { recomputeInTransaction } from './recompute.js'
import {
  addDays,
  monthOf,
  NO_END,
  NO_START,
  normalizeScope,
  type RecomputeScope,
} from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { tryLockTenants } from './tenant-lock.js'

export interface DirtyKey {
  kind:
    | 'campaign_day'
    | 'mailbox_day'
    | 'lead_campaign'
    | 'campaign'
    | 'mailbox'
    | 'billing'
    | 'billing_month'
    | 'tenant'
  entity_id: string
  campaign_id: string
  day: string | null
}

export type DrainResult =
  | {
      state: 'drained'
      /** the first of tenantIds */
      tenantId: string
      /** the tenants whose keys this batch recomputed */
      tenantIds: string[]
      keys: number
      counts: TableCounts[]
      durationMs: number
    }
  | { state: 'idle' }
  | { state: 'busy'; tenantIds: string[] }

export interface DrainOptions {
  /** dirty-key rows taken per transaction */
  batchSize?: number
  /** only this tenant's keys */
  tenantId?: string
  /**
   * at most this many tenants per batch, so that concurrent drains share the waiting tenants
   * instead of the first taking them all (default: no limit)
   */
  maxTenants?: number
}

/** The analytics keys a batch of dirty-key rows of one tenant asks to recompute. */
export function scopeFromDirtyKeys(tenantId: string, keys: DirtyKey[]): RecomputeScope {
  const scope: Required<RecomputeScope> = {
    tenants: [],
    campaignDays: [],
    mailboxDays: [],
    leads: [],
    campaignLeads: [],
    billingMonths: [],
  }
  for (const k of keys) {
    switch (k.kind) {
      case 'campaign_day':
        if (!k.day) break
        scope.campaignDays.push({
          tenantId,
          campaignId: k.entity_id,
          fromDay: k.day,
          toDay: addDays(k.day, 1),
        })
        break
      case 'mailbox_day':
        if (!k.day) break
        scope.mailboxDays.push({
          tenantId,
          mailboxId: k.entity_id,
          fromDay: k.day,
          toDay: addDays(k.day, 1),
        })
        break
      case 'lead_campaign':
        scope.leads.push({ tenantId, leadId: k.entity_id, campaignId: k.campaign_id })
        break
      case 'campaign':
        scope.campaignDays.push({
          tenantId,
          campaignId: k.entity_id,
          fromDay: NO_START,
          toDay: NO_END,
        })
        scope.campaignLeads.push({ tenantId, campaignId: k.entity_id })
        break
      case 'mailbox':
        scope.mailboxDays.push({
          tenantId,
          mailboxId: k.entity_id,
          fromDay: NO_START,
          toDay: NO_END,
        })
        break
      case 'billing':
        scope.billingMonths.push({ tenantId, month: 'all' })
        break
      // recorded by the emails triggers only when a billed column changed (migration 0009)
      case 'billing_month':
        if (k.day) scope.billingMonths.push({ tenantId, month: monthOf(k.day) })
        break
      case 'tenant':
        scope.tenants.push({ tenantId })
        break
    }
  }
  return scope
}

class PartitionsNeeded extends Error {
  constructor(readonly months: { first: string; last: string }) {
    super('partitions needed')
  }
}

/**
 * Takes one batch of dirty keys (the oldest changes first, of every tenant whose lock is free,
 * skipping keys and tenants other workers hold), recomputes what they touch, and deletes them in
 * the same transaction: a crash rolls both back, and a change arriving meanwhile adds a new key.
 */
export async function drainDirtyKeys(
  db: Kysely<DB>,
  options: DrainOptions = {},
): Promise<DrainResult> {
  const batchSize = options.batchSize ?? 10_000
  for (let attempt = 1; ; attempt++) {
    try {
      return await drainOnce(db, batchSize, options.tenantId, options.maxTenants)
    } catch (error) {
      if (!(error instanceof PartitionsNeeded) || attempt > 3) throw error
      await ensureDailyPartitions(db, error.months)
    }
  }
}

async function drainOnce(
  db: Kysely<DB>,
  batchSize: number,
  only?: string,
  maxTenants = Number.POSITIVE_INFINITY,
): Promise<DrainResult> {
  const started = performance.now()
  return db.transaction().execute(async (trx) => {
    const candidates = only
      ? [only]
      : (
          await sql<{ tenant_id: string }>`
            select distinct tenant_id from (
              select tenant_id from analytics_dirty_keys order by seq limit ${batchSize}
            ) oldest`.execute(trx)
        ).rows.map((r) => r.tenant_id)
    if (candidates.length === 0) return { state: 'idle' } as const
    // every tenant whose lock is free joins this batch: one set of statements serves them all
    const locked = await tryLockTenants(trx, candidates.sort(), maxTenants)
    if (locked.length === 0) return { state: 'busy', tenantIds: candidates } as const
    const { rows: keys } = await sql<DirtyKey & { tenant_id: string }>`
      delete from analytics_dirty_keys
       where tenant_id = any(${locked}::text[])
         and seq in (select seq from analytics_dirty_keys where tenant_id = any(${locked}::text[])
                      order by seq limit ${batchSize} for update skip locked)
      returning tenant_id, kind, entity_id, campaign_id, day::text as day`.execute(trx)
    if (keys.length === 0) return { state: 'idle' } as const
    const byTenant = new Map<string, DirtyKey[]>()
    for (const k of keys) byTenant.set(k.tenant_id, [...(byTenant.get(k.tenant_id) ?? []), k])
    const scope = normalizeScope(
      mergeScopes([...byTenant].map(([tenantId, list]) => scopeFromDirtyKeys(tenantId, list))),
    )
    const months = await monthsToWrite(trx, scope)
    if (months && !partitionsKnown(db, months)) throw new PartitionsNeeded(months)
    const counts = await recomputeInTransaction(trx, scope)
    const tenantIds = [...byTenant.keys()]
    // the writes above each added a bump to the tenants' data versions (migration 0010): fold
    // them into one row per tenant, so that the versions the read API sums stay a few rows
    await sql`select pm_fold_tenant_versions(${tenantIds}::text[])`.execute(trx)
    return {
      state: 'drained',
      tenantId: tenantIds[0] as string,
      tenantIds,
      keys: keys.length,
      counts,
      durationMs: performance.now() - started,
    } as const
  })
}

function mergeScopes(scopes: RecomputeScope[]): RecomputeScope {
  return {
    tenants: scopes.flatMap((s) => s.tenants ?? []),
    campaignDays: scopes.flatMap((s) => s.campaignDays ?? []),
    mailboxDays: scopes.flatMap((s) => s.mailboxDays ?? []),
    leads: scopes.flatMap((s) => s.leads ?? []),
    campaignLeads: scopes.flatMap((s) => s.campaignLeads ?? []),
    billingMonths: scopes.flatMap((s) => s.billingMonths ?? []),
  }
}

/** Dirty-key rows waiting, in all or per tenant: what the freshness watermark reports. */
export async function pendingDirtyKeys(
  db: Kysely<DB>,
): Promise<{ tenantId: string; pending: number; oldest: Date }[]> {
  const { rows } = await sql<{ tenant_id: string; pending: number; oldest: Date }>`
    select tenant_id, count(*)::int as pending, min(created_at) as oldest
      from analytics_dirty_keys group by tenant_id order by tenant_id`.execute(db)
  return rows.map((r) => ({ tenantId: r.tenant_id, pending: r.pending, oldest: r.oldest }))
}
