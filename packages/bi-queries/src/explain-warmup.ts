import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { formatDay, parseDay } from './date-range.js'
import type { FigureExplanation, FigureValue } from './explain-figure.js'
import { shown, sourcePage, sourceStatement, toSourceEmail } from './explain-metric.js'
import { toCount, toDecimal } from './numeric-values.js'
import type { PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'
import { MIN_SAMPLE_SIZE } from './rate-uncertainty.js'
import { MIN_TRACKING_DAYS, warmupAggregates, warmupWindow } from './warmup-performance.js'

/** The figures of a /v1/warmup row that explainWarmup explains. */
export const WARMUP_EXPLAINED = [
  'avg_health_score',
  'category',
  'avg_progress_percentage',
  'avg_daily_progress_increase',
  'avg_delivery_rate',
  'warmup_sent',
  'tracking_days',
] as const
export type WarmupExplained = (typeof WARMUP_EXPLAINED)[number]

export interface ExplainWarmupParams extends PageRequest {
  tenantId: string
  mailboxId: string
  metric: WarmupExplained
  /** the window's length in days, as /v1/warmup takes it */
  days: number
  /** the first day after the window (default: tomorrow in the tenant's time zone) */
  to?: string | undefined
}

const HEALTH =
  'H = 100 − min(50, ⌊600·b/n⌋) − min(50, ⌊10000·c/n⌋) over the mailbox’s warmup emails (is_warmup = true) sent on the 7 days d−6 … d (n sent, b with bounce_type, c with complaint_at)'
const PROGRESS =
  'progress_percentage of day d = min(100, ⌊100 · (d − start day + 1) / ramp_days⌋) from the mailbox’s warmup_status row (start day: started_at in the tenant’s time zone), 0 before the start or without a warmup row'
const TRACKED = `the tracked days: the days of [from, to) on which the mailbox sent warmup emails (its warmup_analytics rows); the mailbox is listed only with at least ${MIN_TRACKING_DAYS} of them, otherwise the value is null`

const FORMULAS: Record<WarmupExplained, string> = {
  tracking_days: `tracking_days = the number of ${TRACKED}.`,
  warmup_sent: `warmup_sent = the mailbox’s warmup emails (is_warmup = true) sent on ${TRACKED}; the sample behind its health and category: below ${MIN_SAMPLE_SIZE}, insufficient_sample.`,
  avg_health_score: `avg_health_score = the mean, 2 decimals, over ${TRACKED}, of the day’s warmup health ${HEALTH}.`,
  category: `category = of the exact mean of the daily warmup health (${HEALTH}) over ${TRACKED}: ≥ 80 Excellent, ≥ 60 Good, ≥ 40 Fair, else Poor (compared as sum ≥ 80 · days, exactly); insufficient_sample when warmup_sent < ${MIN_SAMPLE_SIZE}.`,
  avg_progress_percentage: `avg_progress_percentage = the mean, 2 decimals, over ${TRACKED}, of ${PROGRESS}.`,
  avg_daily_progress_increase: `avg_daily_progress_increase = (progress on the last tracked day − progress on the first) / (days between them), 2 decimals, with ${PROGRESS}; over ${TRACKED}.`,
  avg_delivery_rate: `avg_delivery_rate = the mean, 2 decimals, over ${TRACKED}, of the day’s 100 · delivered / sent of its warmup emails (the seed’s definition: a mean of daily rates, not a proportion, so no Wilson interval).`,
}

type Aggregates = Record<string, string | number | null>

function figureOf(metric: WarmupExplained, row: Aggregates | undefined): FigureValue {
  if (row === undefined) return null
  const raw = row[metric]
  if (metric === 'category') return raw as string
  if (metric === 'tracking_days' || metric === 'warmup_sent') return toCount(raw)
  return toDecimal(raw)
}

/**
 * Explains one figure of a /v1/warmup row (a mailbox over the window of `days` days before `to`):
 * the daily warmup rows it averages, the warmup status row behind progress, the warmup emails
 * behind it (those of the 6 days before the window too, for the health windows), and the figure
 * recomputed from those source rows with the very aggregates /v1/warmup uses. Null when the
 * tenant has no such mailbox.
 */
export async function explainWarmup(
  db: Kysely<DB>,
  params: ExplainWarmupParams,
): Promise<FigureExplanation | null> {
  const { tenantId, mailboxId, metric } = params
  if (!(WARMUP_EXPLAINED as readonly string[]).includes(metric))
    throw new InvalidQueryError('metric', `must be one of ${WARMUP_EXPLAINED.join(', ')}`)
  const { from, to } = await warmupWindow(db, tenantId, params.days, params.to)
  const exists = await sql`select 1 from email_accounts
     where tenant_id = ${tenantId} and id = ${mailboxId}`.execute(db)
  if (exists.rows.length === 0) return null

  const figure = db
    .selectFrom('warmup_analytics as w')
    .where('w.tenant_id', '=', tenantId)
    .where('w.email_account_id', '=', mailboxId)
    .where('w.day', '>=', from)
    .where('w.day', '<', to)
    .groupBy('w.email_account_id')
    .having(sql<boolean>`count(*) >= ${MIN_TRACKING_DAYS}`)
    .select(warmupAggregates())
  const stored = (await figure.execute()) as Aggregates[]

  const readFrom = formatDay((parseDay(from) as number) - 6)
  const warmupOf = {
    formula: '',
    where: [sql<boolean>`e.email_account_id = ${mailboxId}`, sql<boolean>`e.is_warmup`],
  }
  const windowSource = sourceStatement({ tenantId, from: readFrom, to }, warmupOf)
  // the day rows the aggregator would write, from the source emails and warmup_status alone
  const scored = sql<Record<string, unknown>>`
    select d.day, d.sent, d.delivered,
           (100 - least(50, (600 * d.win_bounced) / d.win_sent)
                - least(50, (10000 * d.win_complaints) / d.win_sent))::int as health_score,
           case when ws.id is null or d.day < (ws.started_at at time zone t.time_zone)::date then 0
                else least(100, (100 * (d.day - (ws.started_at at time zone t.time_zone)::date + 1)) / ws.ramp_days)
           end::int as progress_percentage
      from (select s.day, count(*)::int as sent,
                   count(*) filter (where s.status = 'delivered')::int as delivered,
                   sum(count(*)::int) over w as win_sent,
                   sum(count(s.bounce_type)::int) over w as win_bounced,
                   sum(count(s.complaint_at)::int) over w as win_complaints
              from (${windowSource}) s
             group by s.day
            window w as (order by s.day range between '6 days' preceding and current row)) d
      join tenants t on t.id = ${tenantId}
      left join warmup_status ws on ws.tenant_id = ${tenantId} and ws.email_account_id = ${mailboxId}
     where d.day >= ${from}`
  const recompute = db
    .selectFrom(sql<Record<string, unknown>>`(${scored})`.as('w'))
    .having(sql<boolean>`count(*) >= ${MIN_TRACKING_DAYS}`)
    .select(warmupAggregates())
  const fresh = (await recompute.execute()) as Aggregates[]

  const listed =
    metric === 'avg_health_score' || metric === 'category'
      ? windowSource
      : sourceStatement({ tenantId, from, to }, warmupOf)
  const counted = await sql<{ n: string; in_window: string }>`
    select count(*) as n, count(*) filter (where s.day >= ${from}) as in_window
      from (${listed}) s`.execute(db)
  const { rows: days } = await sql<Record<string, FigureValue>>`
    select w.day::text as day, w.sent, w.delivered, w.bounced, w.spam_complaints,
           w.health_score, w.progress_percentage
      from warmup_analytics w
     where w.tenant_id = ${tenantId} and w.email_account_id = ${mailboxId}
       and w.day >= ${from} and w.day < ${to}
     order by w.day`.execute(db)
  const { rows: status } = await sql<{ status: string; started_at: Date; ramp_days: number }>`
    select ws.status, ws.started_at, ws.ramp_days from warmup_status ws
     where ws.tenant_id = ${tenantId} and ws.email_account_id = ${mailboxId}`.execute(db)
  const page = await sourcePage(
    db,
    listed,
    ['explain-warmup', tenantId, mailboxId, metric, from, to],
    params,
  )
  const value = figureOf(metric, stored[0])
  const recomputed = figureOf(metric, fresh[0])
  const sent = toCount(stored[0]?.warmup_sent)
  const daysSent = days.reduce((sum, d) => sum + Number(d.sent), 0)
  const inWindow = toCount(counted.rows[0]?.in_window)
  const ws = status[0]
  return {
    subject: 'warmup',
    metric,
    key: { email_account_id: mailboxId },
    from,
    to,
    value,
    formula: FORMULAS[metric],
    inputs: {
      warmup_status: ws?.status ?? null,
      started_at: ws ? new Date(ws.started_at).toISOString() : null,
      ramp_days: ws?.ramp_days ?? null,
      tracking_days: days.length,
      min_tracking_days: MIN_TRACKING_DAYS,
      warmup_sent: daysSent,
      first_day: (days[0]?.day as string | undefined) ?? null,
      last_day: (days[days.length - 1]?.day as string | undefined) ?? null,
    },
    days,
    sample:
      stored[0] === undefined
        ? null
        : { size: sent, minimum: MIN_SAMPLE_SIZE, insufficient: sent < MIN_SAMPLE_SIZE },
    sql: {
      figure: shown(db, figure),
      source: shown(db, listed),
      recompute: shown(db, recompute),
      aggregator:
        'recomputeMailboxAnalytics (@penguinmails/aggregator) writes the warmup_analytics day rows (health over a 7-day window of warmup emails, progress from warmup_status); warmupPerformance averages them',
    },
    source_count: toCount(counted.rows[0]?.n),
    recomputed,
    recomputed_matches: value === recomputed,
    reconciliation: [
      {
        check: 'days_sum_to_range',
        description: `the warmup_analytics day rows' sent of [${from}, ${to}) add up to the mailbox's warmup emails of the window, counted now`,
        parts: days.map((d) => ({ label: d.day as string, value: Number(d.sent) })),
        parts_total: daysSent,
        total: inWindow,
        holds: daysSent === inWindow,
      },
    ],
    emails: { rows: page.rows.map(toSourceEmail), nextCursor: page.nextCursor },
  }
}
