import { type QueryExecutorProvider, type RawBuilder, sql } from 'kysely'

/** A local calendar day of the tenant, 'YYYY-MM-DD', or an open end. */
export type Day = string

export const NO_START: Day = '-infinity'
export const NO_END: Day = 'infinity'

/** Half-open [fromDay, toDay) of tenant-local days. */
export interface DayRange {
  fromDay: Day
  toDay: Day
}

/**
 * What to recompute. `tenants` recomputes everything of each listed tenant within the range; the
 * other lists recompute single keys, as the dirty-key drain produces them. Entries may overlap:
 * normalizeScope() merges them so that no email is read twice.
 */
export interface RecomputeScope {
  tenants?: ({ tenantId: string } & Partial<DayRange>)[]
  campaignDays?: ({ tenantId: string; campaignId: string } & DayRange)[]
  mailboxDays?: ({ tenantId: string; mailboxId: string } & DayRange)[]
  leads?: { tenantId: string; leadId: string; campaignId: string }[]
  /** every lead of the campaign (its final step changed, say) */
  campaignLeads?: { tenantId: string; campaignId: string }[]
  /** billing periods: the first day of the tenant-local month, or every period of the tenant */
  billingMonths?: { tenantId: string; month: Day | 'all' }[]
}

export interface NormalizedScope {
  tenants: { tenantId: string; fromDay: Day; toDay: Day }[]
  campaignDays: { tenantId: string; campaignId: string; fromDay: Day; toDay: Day }[]
  mailboxDays: { tenantId: string; mailboxId: string; fromDay: Day; toDay: Day }[]
  leads: { tenantId: string; leadId: string; campaignId: string }[]
  campaignLeads: { tenantId: string; campaignId: string }[]
  billingMonths: { tenantId: string; month: Day }[]
  billingAll: string[]
}

const compareDays = (a: Day, b: Day): number => dayOrdinal(a) - dayOrdinal(b)

function dayOrdinal(day: Day): number {
  if (day === NO_START) return Number.NEGATIVE_INFINITY
  if (day === NO_END) return Number.POSITIVE_INFINITY
  return Date.parse(`${day}T00:00:00Z`) / 86_400_000
}

export function addDays(day: Day, days: number): Day {
  if (day === NO_START || day === NO_END) return day
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

export function monthOf(day: Day): Day {
  return `${day.slice(0, 7)}-01`
}

/** Unions the overlapping and adjacent ranges of each key. */
function mergeRanges<T extends DayRange>(items: T[], keyOf: (t: T) => string): T[] {
  const byKey = new Map<string, T[]>()
  for (const item of items) {
    const list = byKey.get(keyOf(item)) ?? []
    list.push(item)
    byKey.set(keyOf(item), list)
  }
  const merged: T[] = []
  for (const list of byKey.values()) {
    list.sort((a, b) => compareDays(a.fromDay, b.fromDay))
    let current: T | undefined
    for (const item of list) {
      if (current && compareDays(item.fromDay, current.toDay) <= 0) {
        if (compareDays(item.toDay, current.toDay) > 0) current = { ...current, toDay: item.toDay }
      } else {
        if (current) merged.push(current)
        current = { ...item }
      }
    }
    if (current) merged.push(current)
  }
  return merged
}

function unique<T>(items: T[], keyOf: (t: T) => string): T[] {
  return [...new Map(items.map((i) => [keyOf(i), i])).values()]
}

export function normalizeScope(scope: RecomputeScope): NormalizedScope {
  const tenants = mergeRanges(
    (scope.tenants ?? []).map((t) => ({
      tenantId: t.tenantId,
      fromDay: t.fromDay ?? NO_START,
      toDay: t.toDay ?? NO_END,
    })),
    (t) => t.tenantId,
  )
  const wholeTenant = new Set(
    tenants.filter((t) => t.fromDay === NO_START && t.toDay === NO_END).map((t) => t.tenantId),
  )
  const campaignLeads = unique(
    (scope.campaignLeads ?? []).filter((c) => !wholeTenant.has(c.tenantId)),
    (c) => `${c.tenantId}\u0000${c.campaignId}`,
  )
  const wholeCampaign = new Set(campaignLeads.map((c) => `${c.tenantId}\u0000${c.campaignId}`))
  const billingAll = [
    ...new Set((scope.billingMonths ?? []).filter((b) => b.month === 'all').map((b) => b.tenantId)),
  ].filter((t) => !wholeTenant.has(t))
  return {
    tenants,
    campaignDays: mergeRanges(
      (scope.campaignDays ?? []).filter((c) => !wholeTenant.has(c.tenantId)),
      (c) => `${c.tenantId}\u0000${c.campaignId}`,
    ),
    // only overlapping and adjacent ranges merge: the mailbox statement reads each range's emails
    // once and takes the days between two ranges from the stored rows (mailbox-analytics.ts)
    mailboxDays: mergeRanges(
      (scope.mailboxDays ?? []).filter((m) => !wholeTenant.has(m.tenantId)),
      (m) => `${m.tenantId}\u0000${m.mailboxId}`,
    ),
    leads: unique(
      (scope.leads ?? []).filter(
        (l) =>
          !wholeTenant.has(l.tenantId) && !wholeCampaign.has(`${l.tenantId}\u0000${l.campaignId}`),
      ),
      (l) => `${l.tenantId}\u0000${l.leadId}\u0000${l.campaignId}`,
    ),
    campaignLeads,
    billingMonths: unique(
      (scope.billingMonths ?? []).flatMap((b) =>
        b.month === 'all' || wholeTenant.has(b.tenantId) || billingAll.includes(b.tenantId)
          ? []
          : [{ tenantId: b.tenantId, month: monthOf(b.month) }],
      ),
      (b) => `${b.tenantId}\u0000${b.month}`,
    ),
    billingAll,
  }
}

export function isEmptyScope(s: NormalizedScope): boolean {
  return (
    s.tenants.length +
      s.campaignDays.length +
      s.mailboxDays.length +
      s.leads.length +
      s.campaignLeads.length +
      s.billingMonths.length +
      s.billingAll.length ===
    0
  )
}

/**
 * The emails of whole tenants, joined to their `bounds` rows: without range conditions when every
 * range is open, so that the planner sees a plain equi-join. When each tenant has one bounds row,
 * the join goes through a DISTINCT ON (tenant_id) over it: that tells the planner the tenant ids
 * are unique, and it hashes the few bounds rather than the million emails (a CTE has no
 * statistics, and the planner assumes its keys crowd into few hash buckets).
 */
export function emailsOfTenants(
  tenants: { tenantId: string; fromDay: Day; toDay: Day }[],
  fromColumn: 'from_at' | 'read_from_at' = 'from_at',
): RawBuilder<unknown> {
  const open = tenants.every((t) => t.fromDay === NO_START && t.toDay === NO_END)
  const unique = new Set(tenants.map((t) => t.tenantId)).size === tenants.length
  const bounds = unique ? sql`(select distinct on (tenant_id) * from bounds) b` : sql`bounds b`
  return open
    ? sql`${bounds} join emails e on e.tenant_id = b.tenant_id and e.sent_at is not null`
    : sql`${bounds} join emails e on e.tenant_id = b.tenant_id
            and e.sent_at >= ${sql.ref(`b.${fromColumn}`)} and e.sent_at < b.to_at`
}

/**
 * Runs a whole-tenant statement with index scans and nested loops off for its transaction: it
 * reads every email of the tenants and every stored row of theirs, where sequential scans and hash
 * joins are right. Left to itself the planner misjudges the groups of a time-zone expression and
 * walks an index in order instead (several times slower), and, its estimates of the CTEs' joins
 * collapsing to one row (and of analytics tables just filled being stale), it nests a scan of a
 * whole analytics table inside a loop over 100,000 recomputed rows (minutes instead of a second).
 */
export async function withSequentialScans<T>(
  db: QueryExecutorProvider,
  fn: () => Promise<T>,
): Promise<T> {
  await sql`select set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                   set_config('enable_nestloop', 'off', true)`.execute(db)
  // not in a finally: after a failed statement the transaction accepts no command, and the reset
  // would replace the statement's own error with "current transaction is aborted"
  const result = await fn()
  await sql`select set_config('enable_indexscan', 'on', true), set_config('enable_bitmapscan', 'on', true),
                   set_config('enable_nestloop', 'on', true)`.execute(db)
  return result
}
