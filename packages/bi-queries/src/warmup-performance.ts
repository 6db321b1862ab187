import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, formatDay, parseDay } from './date-range.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage, type SortColumn } from './keyset-page.js'
import { toCount, toDecimal } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'
import { MIN_SAMPLE_SIZE } from './rate-uncertainty.js'
import { tenantToday } from './tenant-today.js'

export const WARMUP_PERFORMANCE_SORTS = {
  email_account_id: [{ column: 'email_account_id', direction: 'asc', type: 'text' }],
  avg_health_score: [
    { column: 'avg_health_score', direction: 'asc', type: 'numeric' },
    { column: 'email_account_id', direction: 'asc', type: 'text' },
  ],
  '-avg_health_score': [
    { column: 'avg_health_score', direction: 'desc', type: 'numeric' },
    { column: 'email_account_id', direction: 'desc', type: 'text' },
  ],
} as const satisfies Record<string, readonly SortColumn[]>

export type WarmupPerformanceSort = keyof typeof WARMUP_PERFORMANCE_SORTS

export const WARMUP_CATEGORIES = ['Excellent', 'Good', 'Fair', 'Poor'] as const
export type WarmupCategory = (typeof WARMUP_CATEGORIES)[number]

/** Mailboxes tracked on fewer days than this are left out: too little data to judge. */
export const MIN_TRACKING_DAYS = 3

export interface WarmupPerformanceParams extends PageRequest {
  tenantId: string
  /** the window's length in days, 1 to 366 */
  days: number
  /** the first day after the window, YYYY-MM-DD; default: tomorrow in the tenant's time zone */
  to?: string | undefined
  /** default `email_account_id` */
  sort?: WarmupPerformanceSort | undefined
}

export interface WarmupPerformanceRow {
  email_account_id: string
  /** null when the mailbox no longer exists in the source */
  address: string | null
  /** the mailbox's current warmup status; null without a warmup row */
  warmup_status: string | null
  /** days in the window with warmup sends */
  tracking_days: number
  first_day: string
  last_day: string
  avg_health_score: number
  avg_progress_percentage: number
  /** the mean of the daily delivery rates, two decimals */
  avg_delivery_rate: number | null
  /** (progress on the last day − on the first) / days between them, two decimals */
  avg_daily_progress_increase: number
  /** of the exact average health score: ≥ 80 Excellent, ≥ 60 Good, ≥ 40 Fair, else Poor */
  category: WarmupCategory
  /** warmup emails sent in the window: the sample behind the health scores and the category */
  warmup_sent: number
  /** warmup_sent is below MIN_SAMPLE_SIZE: the category is too little data to judge */
  insufficient_sample: boolean
}

export interface WarmupPerformancePage extends Page<WarmupPerformanceRow> {
  /** the window [from, to) the rows cover */
  from: string
  to: string
}

/**
 * The warmup figures of one mailbox over its warmup_analytics rows `w` of the window (grouped by
 * mailbox): shared by warmupPerformance and by explainWarmup, which applies them to day rows
 * recomputed from the source, so that both compute exactly the same way.
 */
export function warmupAggregates() {
  return [
    sql<string>`count(*)`.as('tracking_days'),
    sql<string>`sum(w.sent)`.as('warmup_sent'),
    sql<string>`min(w.day)`.as('first_day'),
    sql<string>`max(w.day)`.as('last_day'),
    sql<string>`round(avg(w.health_score), 2)`.as('avg_health_score'),
    sql<string>`round(avg(w.progress_percentage), 2)`.as('avg_progress_percentage'),
    sql<string | null>`round(avg(100.0 * w.delivered / nullif(w.sent, 0)), 2)`.as(
      'avg_delivery_rate',
    ),
    sql<string>`round(((array_agg(w.progress_percentage order by w.day desc))[1]
                      - (array_agg(w.progress_percentage order by w.day))[1])::numeric
                      / (max(w.day) - min(w.day)), 2)`.as('avg_daily_progress_increase'),
    // compared on the sums, exactly, rather than on a rounded average
    sql<WarmupCategory>`case when sum(w.health_score) >= 80 * count(*) then 'Excellent'
                             when sum(w.health_score) >= 60 * count(*) then 'Good'
                             when sum(w.health_score) >= 40 * count(*) then 'Fair'
                             else 'Poor' end`.as('category'),
  ]
}

/** The window [from, to) of `days` days before `to` (default: tomorrow in the tenant's time zone). */
export async function warmupWindow(
  db: Kysely<DB>,
  tenantId: string,
  days: number,
  end: string | undefined,
): Promise<{ from: string; to: string }> {
  if (!Number.isInteger(days) || days < 1 || days > 366)
    throw new InvalidQueryError('days', 'must be an integer from 1 to 366')
  const to = end ?? formatDay((parseDay(await tenantToday(db, tenantId)) as number) + 1)
  const toDay = parseDay(to)
  if (toDay === null) throw new InvalidQueryError('to', `not a calendar date (YYYY-MM-DD): ${to}`)
  const from = formatDay(toDay - days)
  checkDateRange({ from, to })
  return { from, to }
}

/**
 * Per mailbox over the last `days` days before `to`: warmup health, progress and delivery, for
 * mailboxes with at least MIN_TRACKING_DAYS tracked days in the window.
 */
export async function warmupPerformance(
  db: Kysely<DB>,
  params: WarmupPerformanceParams,
): Promise<WarmupPerformancePage> {
  const { tenantId, days } = params
  const { from, to } = await warmupWindow(db, tenantId, days, params.to)
  const sort = params.sort ?? 'email_account_id'

  const perMailbox = db
    .selectFrom('warmup_analytics as w')
    .where('w.tenant_id', '=', tenantId)
    .where('w.day', '>=', from)
    .where('w.day', '<', to)
    .groupBy('w.email_account_id')
    .having(sql<boolean>`count(*) >= ${MIN_TRACKING_DAYS}`)
    .select(['w.email_account_id', ...warmupAggregates()])
  const described = db
    .selectFrom(perMailbox.as('m'))
    .leftJoin('email_accounts as ea', (join) =>
      join.on('ea.tenant_id', '=', tenantId).onRef('ea.id', '=', 'm.email_account_id'),
    )
    .leftJoin('warmup_status as ws', (join) =>
      join
        .on('ws.tenant_id', '=', tenantId)
        .onRef('ws.email_account_id', '=', 'm.email_account_id'),
    )
    .selectAll('m')
    .select(['ea.address', 'ws.status as warmup_status'])
  const page = await keysetPage(
    db,
    described,
    WARMUP_PERFORMANCE_SORTS[sort],
    listFingerprint(['warmup-performance', tenantId, days, params.to ?? null, sort]),
    params,
  )
  return {
    from,
    to,
    nextCursor: page.nextCursor,
    rows: page.rows.map((r) => ({
      email_account_id: r.email_account_id,
      address: r.address,
      warmup_status: r.warmup_status,
      tracking_days: toCount(r.tracking_days),
      first_day: r.first_day,
      last_day: r.last_day,
      avg_health_score: toDecimal(r.avg_health_score) as number,
      avg_progress_percentage: toDecimal(r.avg_progress_percentage) as number,
      avg_delivery_rate: toDecimal(r.avg_delivery_rate),
      avg_daily_progress_increase: toDecimal(r.avg_daily_progress_increase) as number,
      category: r.category,
      warmup_sent: toCount(r.warmup_sent),
      insufficient_sample: toCount(r.warmup_sent) < MIN_SAMPLE_SIZE,
    })),
  }
}
