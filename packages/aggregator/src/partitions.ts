import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import {
  addDays,
  type Day,
  monthOf,
  NO_END,
  NO_START,
  type NormalizedScope,
} from './recompute-scope.js'

const DAILY_TABLES = [
  'campaign_analytics',
  'sequence_step_analytics',
  'mailbox_analytics',
  'warmup_analytics',
] as const

/** The first and last tenant-local month a recompute of `scope` may write daily rows for. */
export async function monthsToWrite(
  db: Kysely<DB>,
  scope: NormalizedScope,
): Promise<{ first: Day; last: Day } | undefined> {
  const ranges = [...scope.tenants, ...scope.campaignDays, ...scope.mailboxDays]
  if (ranges.length === 0) return undefined
  const days: Day[] = []
  const openTenants = new Set<string>()
  for (const r of ranges) {
    if (r.fromDay === NO_START || r.toDay === NO_END) openTenants.add(r.tenantId)
    for (const d of [r.fromDay, r.toDay]) if (d !== NO_START && d !== NO_END) days.push(d)
  }
  if (openTenants.size > 0) {
    // an open range writes wherever the tenant's emails are; a day either side covers any zone
    const { rows } = await sql<{ first: string | null; last: string | null }>`
      select (min(sent_at) at time zone 'UTC')::date::text as first,
             (max(sent_at) at time zone 'UTC')::date::text as last
        from emails where tenant_id = any(${[...openTenants]}::text[]) and sent_at is not null`.execute(
      db,
    )
    if (rows[0]?.first) days.push(addDays(rows[0].first, -1))
    if (rows[0]?.last) days.push(addDays(rows[0].last, 1))
  }
  if (days.length === 0) return undefined
  days.sort()
  const first = days[0] as Day
  // mailbox rows reach 6 days past a change
  const last = addDays(days[days.length - 1] as Day, 7)
  return { first: monthOf(first), last: monthOf(last) }
}

const known = new WeakMap<object, Set<string>>()

/**
 * Creates the monthly partitions of the daily tables for [first, last] (months), in a transaction
 * of its own: creating a partition locks its parent, which must not happen inside a recompute
 * that already holds row locks on it.
 */
export async function ensureDailyPartitions(
  db: Kysely<DB>,
  months: { first: Day; last: Day },
): Promise<number> {
  const cache = known.get(db) ?? new Set<string>()
  known.set(db, cache)
  const wanted = monthList(months.first, months.last)
  if (wanted.every((m) => cache.has(m))) return 0
  const to = addDays(months.last, 32).slice(0, 8).concat('01')
  // one statement, so one transaction, per parent: creating a partition locks its parent until
  // commit, and a transaction holding one parent while waiting for the next deadlocked with a
  // recompute writing both (it had locked the second and waited for the first)
  let created = 0
  for (const table of DAILY_TABLES) {
    const { rows } = await sql<{ created: number }>`
      select pm_ensure_monthly_partitions(${table}::regclass, ${months.first}::date, ${to}::date) as created`.execute(
      db,
    )
    created += rows[0]?.created ?? 0
  }
  for (const m of wanted) cache.add(m)
  return created
}

/** Whether every month of the range is known to have its partitions (no query). */
export function partitionsKnown(db: Kysely<DB>, months: { first: Day; last: Day }): boolean {
  const cache = known.get(db)
  return !!cache && monthList(months.first, months.last).every((m) => cache.has(m))
}

function monthList(first: Day, last: Day): Day[] {
  const out: Day[] = []
  let m = first
  while (m <= last && out.length < 1200) {
    out.push(m)
    m = addDays(m, 32).slice(0, 8).concat('01')
  }
  return out
}
