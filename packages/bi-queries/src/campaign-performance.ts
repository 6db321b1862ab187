import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, type DateRange } from './date-range.js'
import {
  type EmailCounts,
  type EmailRates,
  type RawCounts,
  type RawRates,
  summedCounts,
  summedRates,
  toCounts,
  toRates,
} from './email-metrics.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage, type SortColumn } from './keyset-page.js'
import { toCount } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'
import { MIN_SAMPLE_SIZE, type RateUncertainty, rateUncertainty } from './rate-uncertainty.js'
import { wilsonLowerSql } from './wilson-interval.js'

/** Orders of the campaign performance list; each ends with campaign_id, so pages are stable. */
export const CAMPAIGN_PERFORMANCE_SORTS = {
  volume: [
    { column: 'volume_rank', direction: 'asc', type: 'bigint' },
    { column: 'campaign_id', direction: 'asc', type: 'text' },
  ],
  open_rate: [
    { column: 'open_rate_rank', direction: 'asc', type: 'bigint' },
    { column: 'campaign_id', direction: 'asc', type: 'text' },
  ],
  reply_rate: [
    { column: 'reply_rate_rank', direction: 'asc', type: 'bigint' },
    { column: 'campaign_id', direction: 'asc', type: 'text' },
  ],
  campaign_id: [{ column: 'campaign_id', direction: 'asc', type: 'text' }],
} as const satisfies Record<string, readonly SortColumn[]>

export type CampaignPerformanceSort = keyof typeof CAMPAIGN_PERFORMANCE_SORTS

export interface CampaignPerformanceParams extends DateRange, PageRequest {
  tenantId: string
  /** default `volume` */
  sort?: CampaignPerformanceSort | undefined
}

export interface CampaignPerformanceRow extends EmailCounts, EmailRates, RateUncertainty {
  campaign_id: string
  /** null when the campaign no longer exists in the source */
  campaign_name: string | null
  company_id: string
  /** the campaign's current status */
  status: string
  completed_leads: number
  /** days in the range on which the campaign sent */
  active_days: number
  first_day: string
  last_day: string
  /** 1 = most emails sent in the range; ties share a rank */
  volume_rank: number
  /**
   * 1 = best open rate, judged by the lower bound of its 95% Wilson interval, campaigns with an
   * insufficient sample (delivered below MIN_SAMPLE_SIZE) after all the others: a rate from a few
   * sends does not outrank a solid one. Ties share a rank; campaigns without a rate rank last.
   */
  open_rate_rank: number
  /** 1 = best reply rate, ranked as open_rate_rank */
  reply_rate_rank: number
}

/**
 * Per campaign over [from, to): the eight counts, completed leads, the five rates and three ranks
 * (computed over all of the tenant's campaigns in the range, before paging).
 */
export async function campaignPerformance(
  db: Kysely<DB>,
  params: CampaignPerformanceParams,
): Promise<Page<CampaignPerformanceRow>> {
  checkDateRange(params)
  const { tenantId, from, to } = params
  const sort = params.sort ?? 'volume'
  const perCampaign = db
    .selectFrom('campaign_analytics as ca')
    .where('ca.tenant_id', '=', tenantId)
    .where('ca.day', '>=', from)
    .where('ca.day', '<', to)
    .groupBy('ca.campaign_id')
    .select([
      'ca.campaign_id',
      sql<string>`min(ca.company_id)`.as('company_id'),
      // every row holds the campaign's current status (the source's wins below when it exists)
      sql<string>`max(ca.status)`.as('status'),
      sql<string>`count(*)`.as('active_days'),
      sql<string>`min(ca.day)`.as('first_day'),
      sql<string>`max(ca.day)`.as('last_day'),
      sql<string>`coalesce(sum(ca.completed_leads), 0)`.as('completed_leads'),
      ...summedCounts('ca'),
      ...summedRates('ca'),
    ])
  const ranked = db
    .selectFrom(perCampaign.as('p'))
    .leftJoin('campaigns as c', (join) =>
      join.on('c.tenant_id', '=', tenantId).onRef('c.id', '=', 'p.campaign_id'),
    )
    .selectAll('p')
    .select([
      'c.name as campaign_name',
      sql<string>`coalesce(c.status, p.status)`.as('current_status'),
      sql<string>`rank() over (order by p.sent desc)`.as('volume_rank'),
      // too small a sample ranks after every solid one, whatever its bound: a lower bound alone
      // still puts 1 reply of 1 (20.65%) above a solid 15%
      sql<string>`rank() over (order by p.delivered < ${MIN_SAMPLE_SIZE},
        ${wilsonLowerSql(sql`p.opened_tracked`, sql`p.delivered`)} desc nulls last)`.as(
        'open_rate_rank',
      ),
      sql<string>`rank() over (order by p.delivered < ${MIN_SAMPLE_SIZE},
        ${wilsonLowerSql(sql`p.replied`, sql`p.delivered`)} desc nulls last)`.as('reply_rate_rank'),
    ])
  const page = await keysetPage(
    db,
    ranked,
    CAMPAIGN_PERFORMANCE_SORTS[sort],
    listFingerprint(['campaign-performance', tenantId, from, to, sort]),
    params,
  )
  return {
    nextCursor: page.nextCursor,
    rows: page.rows.map((r) => {
      const counts = toCounts(r as RawCounts)
      return {
        campaign_id: r.campaign_id,
        campaign_name: r.campaign_name,
        company_id: r.company_id,
        status: r.current_status,
        ...counts,
        completed_leads: toCount(r.completed_leads),
        ...toRates(r as RawRates),
        ...rateUncertainty(counts),
        active_days: toCount(r.active_days),
        first_day: r.first_day,
        last_day: r.last_day,
        volume_rank: toCount(r.volume_rank),
        open_rate_rank: toCount(r.open_rate_rank),
        reply_rate_rank: toCount(r.reply_rate_rank),
      }
    }),
  }
}
