import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { formatDay, parseDay } from './date-range.js'
import type { BillingMeasure } from './explain-cells.js'
import { toCount } from './numeric-values.js'
import { InvalidQueryError } from './query-errors.js'
import { tenantToday } from './tenant-today.js'
import {
  type DailyValue,
  daysBetween,
  type LimitCrossing,
  limitCrossing,
  projectMonthEnd,
} from './usage-projection.js'

export const FORECAST_METHOD =
  'weekday-aware daily-rate projection: month_to_date counts the complete local days of the month before `through`; the remaining days are projected at the mean daily rate of their class (Mon–Fri or Sat–Sun) over the last `window_days` complete days; the 95% prediction interval is ±t·sd with Var = Σ s²·(r + r²/n) per class (r days to come, n days seen, s² their day-to-day variance). Distinct counts (mailboxes, domains, campaigns, leads, warmups) do not add up over days and are not projected: their month-end value is at least month_to_date.'

export const DEFAULT_FORECAST_WINDOW_DAYS = 7

export interface UsageForecastParams {
  tenantId: string
  /** first local day not counted, YYYY-MM-DD (default: today in the tenant's zone, so that only complete days count) */
  through?: string | undefined
  /** the emails_sent allowed per billing period: the forecast then says when it is crossed */
  planLimit?: number | undefined
  /** complete days before `through` that estimate the daily rates (default 7, one whole week: the backtest in docs/forecast.md chose it) */
  windowDays?: number | undefined
}

export interface UsageForecastRow {
  measure: BillingMeasure
  /** over the complete days of the month before `through` */
  month_to_date: number
  /** month-end projection; null for distinct counts, which are not projected */
  projected: number | null
  /** 95% prediction interval of the month-end value; null when not projected */
  lower: number | null
  upper: number | null
}

export interface UsageForecast {
  /** the billing period forecast: the month of `through`, YYYY-MM */
  period: string
  /** first day of the month and first day of the next */
  period_from: string
  period_to: string
  through: string
  days_elapsed: number
  days_remaining: number
  window_days: number
  level: number
  method: string
  /** the mean daily emails_sent used for the remaining days */
  daily_rate: { weekday: number; weekend: number }
  rows: UsageForecastRow[]
  plan_limit: LimitCrossing | null
}

function monthBounds(through: string): { from: string; to: string } {
  const [y, m] = through.split('-').map(Number) as [number, number]
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
  return { from: `${through.slice(0, 7)}-01`, to: next }
}

/**
 * Month-end projection of the tenant's usage (billing_analytics measures) from its activity so
 * far, with a 95% prediction interval and, given a plan limit on emails_sent, when it is crossed.
 * See FORECAST_METHOD; docs/forecast.md has the method and its backtest.
 */
export async function usageForecast(
  db: Kysely<DB>,
  params: UsageForecastParams,
): Promise<UsageForecast> {
  const { tenantId } = params
  const windowDays = params.windowDays ?? DEFAULT_FORECAST_WINDOW_DAYS
  if (!Number.isInteger(windowDays) || windowDays < 7 || windowDays > 366)
    throw new InvalidQueryError('window_days', 'must be a whole number of days from 7 to 366')
  if (
    params.planLimit !== undefined &&
    !(Number.isSafeInteger(params.planLimit) && params.planLimit > 0)
  )
    throw new InvalidQueryError('plan_limit', 'must be a positive whole number of emails')
  const through = params.through ?? (await tenantToday(db, tenantId))
  const throughDay = parseDay(through)
  if (throughDay === null)
    throw new InvalidQueryError('through', `not a calendar date (YYYY-MM-DD): ${through}`)
  const month = monthBounds(through)
  const windowFrom = formatDay(throughDay - windowDays)
  const seriesFrom = formatDay(Math.min(throughDay - windowDays, parseDay(month.from) as number))
  const { rows: series } = await sql<{ day: string; value: string | number }>`
    select d::date::text as day, coalesce(sum(ca.sent), 0) as value
      from generate_series(cast(${seriesFrom} as date), cast(${through} as date) - 1, interval '1 day') as d
      left join campaign_analytics ca
        on ca.tenant_id = ${tenantId} and ca.day = d::date
       and ca.day >= ${seriesFrom} and ca.day < ${through}
     group by d order by d`.execute(db)
  const daily: DailyValue[] = series.map((r) => ({ day: r.day, value: toCount(r.value) }))
  const monthDays = daily.filter((d) => d.day >= month.from)
  const history = daily.filter((d) => d.day >= windowFrom)
  const monthToDate = monthDays.reduce((a, d) => a + d.value, 0)
  const remaining = daysBetween(through, month.to)
  const projection = projectMonthEnd({ history, monthToDate, remaining, level: 0.95 })
  const distinct = await distinctMonthToDate(db, tenantId, month.from, through)
  return {
    period: through.slice(0, 7),
    period_from: month.from,
    period_to: month.to,
    through,
    days_elapsed: monthDays.length,
    days_remaining: remaining.length,
    window_days: windowDays,
    level: 0.95,
    method: FORECAST_METHOD,
    daily_rate: projection.rates,
    rows: [
      {
        measure: 'emails_sent',
        month_to_date: monthToDate,
        projected: projection.projected,
        lower: projection.lower,
        upper: projection.upper,
      },
      ...distinct,
    ],
    plan_limit:
      params.planLimit === undefined
        ? null
        : limitCrossing(params.planLimit, monthDays, projection),
  }
}

async function distinctMonthToDate(
  db: Kysely<DB>,
  tenantId: string,
  from: string,
  through: string,
): Promise<UsageForecastRow[]> {
  // a mailbox_analytics row exists exactly on the days its mailbox sent any email, a
  // warmup_analytics row on the days it sent a warmup email, a campaign_analytics row on the days
  // the campaign sent; leads have no daily table, so they are counted from the emails
  const { rows } = await sql<Record<Exclude<BillingMeasure, 'emails_sent'>, string | number>>`
    select
      (select count(distinct m.email_account_id) from mailbox_analytics m
        where m.tenant_id = ${tenantId} and m.day >= ${from} and m.day < ${through}) as mailboxes_used,
      (select count(distinct ea.domain_id) from mailbox_analytics m
         join email_accounts ea on ea.tenant_id = m.tenant_id and ea.id = m.email_account_id
        where m.tenant_id = ${tenantId} and m.day >= ${from} and m.day < ${through}) as domains_used,
      (select count(distinct c.campaign_id) from campaign_analytics c
        where c.tenant_id = ${tenantId} and c.day >= ${from} and c.day < ${through}) as campaigns_used,
      (select count(distinct e.lead_id) from emails e join tenants t on t.id = e.tenant_id
        where e.tenant_id = ${tenantId} and not e.is_warmup and e.campaign_id is not null
          and e.lead_id is not null
          and e.sent_at >= (cast(${from} as date)::timestamp at time zone t.time_zone)
          and e.sent_at < (cast(${through} as date)::timestamp at time zone t.time_zone)) as leads_used,
      (select count(distinct w.email_account_id) from warmup_analytics w
        where w.tenant_id = ${tenantId} and w.day >= ${from} and w.day < ${through}) as warmups_active`.execute(
    db,
  )
  const r = rows[0] as Record<Exclude<BillingMeasure, 'emails_sent'>, string | number>
  return (
    ['mailboxes_used', 'domains_used', 'campaigns_used', 'leads_used', 'warmups_active'] as const
  ).map((measure) => ({
    measure,
    month_to_date: toCount(r[measure]),
    projected: null,
    lower: null,
    upper: null,
  }))
}
