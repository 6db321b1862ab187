import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange } from './date-range.js'
import { sourceSet } from './explain-cells.js'
import type { FigureExplanation, FigureValue } from './explain-figure.js'
import { shown, sourcePage, sourceStatement, toSourceEmail } from './explain-metric.js'
import { toCount } from './numeric-values.js'
import type { PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'

/** The tables whose rows give an API row its active_days: campaign performance, mailboxes. */
export const ACTIVE_DAYS_TABLES = ['campaign_analytics', 'mailbox_analytics'] as const
export type ActiveDaysTable = (typeof ACTIVE_DAYS_TABLES)[number]

export interface ExplainActiveDaysParams extends PageRequest {
  tenantId: string
  table: ActiveDaysTable
  /** the campaign or mailbox id */
  key: string
  from: string
  to: string
}

const SHAPES = {
  campaign_analytics: {
    keyColumn: 'campaign_id',
    entity: 'campaigns',
    // the column whose day total is the day's source emails (the row exists because it is > 0)
    volume: 'sent',
    formula:
      'active_days = the number of the campaign’s campaign_analytics day rows in [from, to), as /v1/campaigns/performance counts them (count(*) of its rows). The aggregator writes a day row only for a day with at least one of the campaign’s campaign emails (is_warmup = false, sent_at set, day in the tenant’s time zone), so it is also the number of distinct days among those emails.',
    aggregator:
      'recomputeCampaignAnalytics (@penguinmails/aggregator) writes one campaign_analytics row per campaign and day with campaign emails',
  },
  mailbox_analytics: {
    keyColumn: 'email_account_id',
    entity: 'email_accounts',
    volume: 'current_volume',
    formula:
      'active_days = the number of the mailbox’s mailbox_analytics day rows in [from, to), as /v1/mailboxes counts them (count(*) of its rows; 0 without any). The aggregator writes a day row only for a day on which the mailbox sent any email, campaign or warmup (sent_at set, day in the tenant’s time zone), so it is also the number of distinct days among those emails.',
    aggregator:
      'recomputeMailboxAnalytics (@penguinmails/aggregator) writes one mailbox_analytics row per mailbox and day with any email (current_volume: all of them)',
  },
} as const

/**
 * Explains the active_days of a campaign (/v1/campaigns/performance) or a mailbox (/v1/mailboxes)
 * over [from, to): the day rows it counts, the count as the route computes it, the same count
 * recomputed as the distinct send days of the source emails, the reconciliations (the rows listed
 * are the count; their volumes add up to the source emails), and a keyset page of those emails.
 * Null when the tenant has no such campaign or mailbox.
 */
export async function explainActiveDays(
  db: Kysely<DB>,
  params: ExplainActiveDaysParams,
): Promise<FigureExplanation | null> {
  const { tenantId, table, key, from, to } = params
  if (!(ACTIVE_DAYS_TABLES as readonly string[]).includes(table))
    throw new InvalidQueryError(
      'table',
      `active_days is explained for ${ACTIVE_DAYS_TABLES.join(', ')}`,
    )
  checkDateRange(params)
  const shape = SHAPES[table]
  const exists = await sql`select 1 from ${sql.table(shape.entity)}
     where tenant_id = ${tenantId} and id = ${key}`.execute(db)
  if (exists.rows.length === 0) return null
  const keyRef = sql.ref(`a.${shape.keyColumn}`)
  // as campaignPerformance() and mailboxes() compute it
  const figure = sql<{ active_days: string | number }>`
    select count(*) as active_days from ${sql.table(table)} a
     where a.tenant_id = ${tenantId} and ${keyRef} = ${key}
       and a.day >= ${from} and a.day < ${to}`
  const value = toCount((await figure.execute(db)).rows[0]?.active_days)
  const { rows: days } = await sql<{ day: string; volume: number }>`
    select a.day::text as day, ${sql.ref(`a.${shape.volume}`)} as volume from ${sql.table(table)} a
     where a.tenant_id = ${tenantId} and ${keyRef} = ${key}
       and a.day >= ${from} and a.day < ${to}
     order by a.day`.execute(db)
  const set = sourceSet(
    table,
    table === 'campaign_analytics' ? 'sent' : 'current_volume',
    tenantId,
    key,
  )
  const source = sourceStatement({ tenantId, from, to }, set)
  const recompute = sql<{ days: string; n: string }>`
    select count(distinct s.day) as days, count(*) as n from (${source}) s`
  const fresh = (await recompute.execute(db)).rows[0]
  const recomputed = toCount(fresh?.days)
  const sourceCount = toCount(fresh?.n)
  const volume = days.reduce((sum, d) => sum + toCount(d.volume), 0)
  const page = await sourcePage(
    db,
    source,
    ['explain-active-days', tenantId, table, key, from, to],
    params,
  )
  return {
    subject: 'active_days',
    metric: 'active_days',
    key: { [shape.keyColumn]: key },
    from,
    to,
    value,
    formula: shape.formula,
    inputs: {
      day_rows: days.length,
      first_day: days[0]?.day ?? null,
      last_day: days.at(-1)?.day ?? null,
    },
    days: days.map(
      (d): Record<string, FigureValue> => ({
        day: d.day,
        [shape.volume]: toCount(d.volume),
      }),
    ),
    sample: null,
    sql: {
      figure: shown(db, figure),
      source: shown(db, source),
      recompute: shown(db, recompute),
      aggregator: shape.aggregator,
    },
    source_count: sourceCount,
    recomputed,
    recomputed_matches: value === recomputed,
    reconciliation: [
      {
        check: 'day_rows_count_active_days',
        description: `each ${table} day row of [${from}, ${to}) counts 1: the rows listed in days are the count`,
        parts: days.map((d) => ({ label: d.day, value: 1 })),
        parts_total: days.length,
        total: value,
        holds: days.length === value,
      },
      {
        check: 'days_sum_to_range',
        description: `the day rows' ${shape.volume} of [${from}, ${to}) add up to the source emails of the range, counted now`,
        parts: days.map((d) => ({ label: d.day, value: toCount(d.volume) })),
        parts_total: volume,
        total: sourceCount,
        holds: volume === sourceCount,
      },
    ],
    emails: { rows: page.rows.map(toSourceEmail), nextCursor: page.nextCursor },
  }
}
