import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, type DateRange, formatDay, parseDay } from './date-range.js'
import {
  COUNT_COLUMNS,
  RATE_COLUMNS,
  type RawCounts,
  type RawRates,
  summedCounts,
  summedRates,
  toCounts,
  toRates,
} from './email-metrics.js'

/** What a range query's totals are summed over. */
export type ComparisonScope =
  /** all the tenant's campaigns (campaign_analytics), or one */
  | { kind: 'campaigns'; campaignId?: string | undefined }
  /** the campaign emails of the tenant's mailboxes (mailbox_analytics) */
  | { kind: 'mailboxes' }
  /** the tenant's warmup emails (warmup_analytics) */
  | { kind: 'warmup' }

export interface MetricChange {
  metric: string
  current: number | null
  previous: number | null
  /** current − previous (percentage points for a rate); null when either is null */
  change: number | null
  /** 100·(current − previous) / previous, two decimals; null when previous is 0 or null */
  relative_change: number | null
}

export interface PeriodComparison {
  /** the requested range [from, to) */
  from: string
  to: string
  /** the range of equal length just before it */
  previous_from: string
  previous_to: string
  metrics: MetricChange[]
}

/** The range of the same length ending where `range` starts. */
export function previousPeriod(range: DateRange): DateRange {
  const length = checkDateRange(range)
  const from = parseDay(range.from) as number
  return { from: formatDay(from - length), to: range.from }
}

const TABLES = {
  campaigns: 'campaign_analytics',
  mailboxes: 'mailbox_analytics',
  warmup: 'warmup_analytics',
} as const

// PostgreSQL's round() rounds half away from zero; Math.round rounds half up
function round2(value: number): number {
  return (Math.sign(value) * Math.round(Math.abs(value) * 100)) / 100
}

/** The change from `previous` to `current` of one metric. */
export function metricChange(
  metric: string,
  current: number | null,
  previous: number | null,
): MetricChange {
  const bothKnown = current !== null && previous !== null
  return {
    metric,
    current,
    previous,
    change: bothKnown ? round2(current - previous) : null,
    relative_change:
      bothKnown && previous !== 0 ? round2((100 * (current - previous)) / previous) : null,
  }
}

/**
 * The eight counts and five rates summed over the scope in [from, to) and in the period of equal
 * length before it, with the change of each, absolute and relative. One set-based statement.
 */
export async function comparePeriods(
  db: Kysely<DB>,
  params: DateRange & { tenantId: string; scope: ComparisonScope },
): Promise<PeriodComparison> {
  const previous = previousPeriod(params)
  const { tenantId, from, to, scope } = params
  const campaignOnly =
    scope.kind === 'campaigns' && scope.campaignId !== undefined
      ? sql`and a.campaign_id = ${scope.campaignId}`
      : sql``
  const { rows } = await sql<RawCounts & RawRates & { period: string }>`
    select periods.period, ${sql.join(summedCounts('r'))}, ${sql.join(summedRates('r'))}
      from (values ('current'), ('previous')) as periods (period)
      left join (
        select case when a.day >= cast(${from} as date) then 'current' else 'previous' end as period,
               ${sql.join(COUNT_COLUMNS.map((c) => sql.ref(`a.${c}`)))}
          from ${sql.table(TABLES[scope.kind])} as a
         where a.tenant_id = ${tenantId}
           and a.day >= cast(${previous.from} as date) and a.day < cast(${to} as date)
           ${campaignOnly}
      ) as r on r.period = periods.period
     group by periods.period`.execute(db)
  const byPeriod = (period: string) => {
    const row = rows.find((r) => r.period === period) as RawCounts & RawRates
    return { ...toCounts(row), ...toRates(row) } as Record<string, number | null>
  }
  const current = byPeriod('current')
  const before = byPeriod('previous')
  return {
    from,
    to,
    previous_from: previous.from,
    previous_to: previous.to,
    metrics: [...COUNT_COLUMNS, ...RATE_COLUMNS].map((m) =>
      metricChange(m, current[m] ?? null, before[m] ?? null),
    ),
  }
}
