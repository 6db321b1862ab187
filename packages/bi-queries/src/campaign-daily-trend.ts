import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { campaignExists } from './campaign-lookup.js'
import { checkDateRange, type DateRange } from './date-range.js'
import {
  type EmailCounts,
  type EmailRates,
  type RawCounts,
  type RawRates,
  rateColumns,
  rowCounts,
  toCounts,
  toRates,
} from './email-metrics.js'
import { toCount } from './numeric-values.js'
import { type RateUncertainty, rateUncertainty } from './rate-uncertainty.js'

export interface CampaignDailyTrendParams extends DateRange {
  tenantId: string
  campaignId: string
}

export interface CampaignDayRow extends EmailCounts, EmailRates, RateUncertainty {
  day: string
  completed_leads: number
}

/**
 * One row per day of [from, to), days without sends included (all counts 0, rates null), so a
 * chart needs no gap filling. Null when the tenant has no such campaign.
 */
export async function campaignDailyTrend(
  db: Kysely<DB>,
  params: CampaignDailyTrendParams,
): Promise<CampaignDayRow[] | null> {
  checkDateRange(params)
  const { tenantId, campaignId, from, to } = params
  if (!(await campaignExists(db, tenantId, campaignId))) return null
  const days = db
    .selectFrom(
      sql<{ day: string }>`(select d::date as day
         from generate_series(cast(${from} as date), cast(${to} as date) - 1, interval '1 day') as d)`.as(
        'days',
      ),
    )
    .leftJoin('campaign_analytics as ca', (join) =>
      join
        .on('ca.tenant_id', '=', tenantId)
        .on('ca.campaign_id', '=', campaignId)
        .onRef('ca.day', '=', 'days.day')
        // repeated on the analytics side so partitions outside the range are pruned
        .on('ca.day', '>=', from)
        .on('ca.day', '<', to),
    )
    .select([
      'days.day',
      sql<number>`coalesce(ca.completed_leads, 0)`.as('completed_leads'),
      ...rowCounts('ca'),
      ...rateColumns((c) => sql`${sql.ref(`ca.${c}`)}`),
    ])
    .orderBy('days.day')
  const rows = await days.execute()
  return rows.map((r) => {
    const counts = toCounts(r as unknown as RawCounts)
    return {
      day: r.day,
      ...counts,
      completed_leads: toCount(r.completed_leads),
      ...toRates(r as unknown as RawRates),
      ...rateUncertainty(counts),
    }
  })
}
