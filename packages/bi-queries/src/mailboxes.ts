import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, type DateRange } from './date-range.js'
import {
  type EmailCounts,
  type EmailRates,
  type RawCounts,
  type RawRates,
  rateColumns,
  summedCounts,
  toCounts,
  toRates,
} from './email-metrics.js'
import { listFingerprint } from './keyset-cursor.js'
import { keysetPage, type SortColumn } from './keyset-page.js'
import { toCount } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'
import { MIN_SAMPLE_SIZE, type RateUncertainty, rateUncertainty } from './rate-uncertainty.js'

export const MAILBOX_SORTS = {
  address: [
    { column: 'address', direction: 'asc', type: 'text' },
    { column: 'email_account_id', direction: 'asc', type: 'text' },
  ],
  '-sent': [
    { column: 'sent', direction: 'desc', type: 'bigint' },
    { column: 'email_account_id', direction: 'desc', type: 'text' },
  ],
  // worst first; mailboxes without activity in the range (no health score) come last
  health_score: [
    { column: 'health_sort', direction: 'asc', type: 'integer' },
    { column: 'email_account_id', direction: 'asc', type: 'text' },
  ],
} as const satisfies Record<string, readonly SortColumn[]>

export type MailboxSort = keyof typeof MAILBOX_SORTS

/** `none`: mailboxes without a warmup row. */
export const MAILBOX_WARMUP_FILTERS = ['active', 'paused', 'completed', 'none'] as const
export type MailboxWarmupFilter = (typeof MAILBOX_WARMUP_FILTERS)[number]

export interface MailboxesParams extends DateRange, PageRequest {
  tenantId: string
  warmupStatus?: MailboxWarmupFilter | undefined
  /** default `address` */
  sort?: MailboxSort | undefined
}

export interface MailboxRow extends EmailCounts, EmailRates, RateUncertainty {
  email_account_id: string
  address: string
  domain_id: string
  /** current warmup status; null without a warmup row */
  warmup_status: string | null
  /** days in the range on which the mailbox sent any email */
  active_days: number
  /** all its emails sent in the range, campaign and warmup (the counts are campaign emails) */
  total_volume: number
  /** the last day in the range with activity, and its values; null without activity */
  last_active_day: string | null
  health_score: number | null
  /**
   * emails (campaign and warmup) behind health_score: those sent in the 7 days ending
   * last_active_day; null without activity
   */
  health_sample_sent: number | null
  /** health_sample_sent is below MIN_SAMPLE_SIZE: too few sends to judge; null without activity */
  health_insufficient_sample: boolean | null
  campaign_status: string | null
  /** warmup progress on the last warmup day in the range; null without warmup sends */
  warmup_progress_percentage: number | null
}

/**
 * Every mailbox of the tenant with its activity over [from, to): campaign counts and rates,
 * volume, the latest health score and campaign state, and warmup state and progress.
 */
export async function mailboxes(
  db: Kysely<DB>,
  params: MailboxesParams,
): Promise<Page<MailboxRow>> {
  checkDateRange(params)
  const { tenantId, from, to } = params
  const sort = params.sort ?? 'address'
  const inRange = { from, to }
  let query = db
    .selectFrom('email_accounts as ea')
    .leftJoin('warmup_status as ws', (join) =>
      join.on('ws.tenant_id', '=', tenantId).onRef('ws.email_account_id', '=', 'ea.id'),
    )
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('mailbox_analytics as m')
          .whereRef('m.email_account_id', '=', 'ea.id')
          .where('m.tenant_id', '=', tenantId)
          .where('m.day', '>=', inRange.from)
          .where('m.day', '<', inRange.to)
          .select([
            sql<string>`count(*)`.as('active_days'),
            sql<string>`coalesce(sum(m.current_volume), 0)`.as('total_volume'),
            ...summedCounts('m'),
          ])
          .as('agg'),
      (join) => join.onTrue(),
    )
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('mailbox_analytics as m')
          .whereRef('m.email_account_id', '=', 'ea.id')
          .where('m.tenant_id', '=', tenantId)
          .where('m.day', '>=', inRange.from)
          .where('m.day', '<', inRange.to)
          .select(['m.day', 'm.health_score', 'm.campaign_status'])
          .orderBy('m.day', 'desc')
          .limit(1)
          .as('latest'),
      (join) => join.onTrue(),
    )
    // the 7 days of sends the latest health score was computed over (contract §3)
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('mailbox_analytics as m')
          .whereRef('m.email_account_id', '=', 'ea.id')
          .where('m.tenant_id', '=', tenantId)
          .where(sql<boolean>`m.day > latest.day - 7 and m.day <= latest.day`)
          .select(sql<string | null>`sum(m.current_volume)`.as('health_sample_sent'))
          .as('health'),
      (join) => join.onTrue(),
    )
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('warmup_analytics as w')
          .whereRef('w.email_account_id', '=', 'ea.id')
          .where('w.tenant_id', '=', tenantId)
          .where('w.day', '>=', inRange.from)
          .where('w.day', '<', inRange.to)
          .select(['w.progress_percentage'])
          .orderBy('w.day', 'desc')
          .limit(1)
          .as('warmup'),
      (join) => join.onTrue(),
    )
    .where('ea.tenant_id', '=', tenantId)
    .select([
      'ea.id as email_account_id',
      'ea.address',
      'ea.domain_id',
      'ws.status as warmup_status',
      'agg.active_days',
      'agg.total_volume',
      'agg.sent',
      'agg.delivered',
      'agg.opened_tracked',
      'agg.clicked_tracked',
      'agg.replied',
      'agg.bounced',
      'agg.unsubscribed',
      'agg.spam_complaints',
      ...rateColumns((c) => sql`${sql.ref(`agg.${c}`)}`),
      'latest.day as last_active_day',
      'latest.health_score',
      'health.health_sample_sent',
      'latest.campaign_status',
      'warmup.progress_percentage as warmup_progress_percentage',
      sql<number>`coalesce(latest.health_score, 101)`.as('health_sort'),
    ])
  if (params.warmupStatus === 'none') query = query.where('ws.status', 'is', null)
  else if (params.warmupStatus !== undefined)
    query = query.where('ws.status', '=', params.warmupStatus)
  const page = await keysetPage(
    db,
    query,
    MAILBOX_SORTS[sort],
    listFingerprint(['mailboxes', tenantId, from, to, params.warmupStatus ?? null, sort]),
    params,
  )
  return {
    nextCursor: page.nextCursor,
    rows: page.rows.map((r) => {
      const counts = toCounts(r as unknown as RawCounts)
      const sample = r.health_sample_sent === null ? null : toCount(r.health_sample_sent)
      return {
        email_account_id: r.email_account_id,
        address: r.address,
        domain_id: r.domain_id,
        warmup_status: r.warmup_status,
        active_days: toCount(r.active_days),
        total_volume: toCount(r.total_volume),
        ...counts,
        ...toRates(r as unknown as RawRates),
        ...rateUncertainty(counts),
        last_active_day: r.last_active_day,
        health_score: r.health_score,
        health_sample_sent: sample,
        health_insufficient_sample: sample === null ? null : sample < MIN_SAMPLE_SIZE,
        campaign_status: r.campaign_status,
        warmup_progress_percentage: r.warmup_progress_percentage,
      }
    }),
  }
}
