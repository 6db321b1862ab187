import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, type DateRange } from './date-range.js'
import { toCount, toDecimal } from './numeric-values.js'

export interface TenantUsageParams extends DateRange {
  tenantId: string
}

export interface TenantUsageRow {
  /** the calendar month in the tenant's time zone, YYYY-MM */
  period: string
  billing_id: string
  /** first instant of the month in the tenant's time zone */
  period_start: string
  /** first instant of the next month there */
  period_end: string
  subscription_id: string | null
  emails_sent: number
  mailboxes_used: number
  domains_used: number
  campaigns_used: number
  leads_used: number
  warmups_active: number
  /** emails_sent / mailboxes_used, two decimals; null without mailboxes */
  emails_per_mailbox: number | null
  /** emails_sent / campaigns_used, two decimals; null without campaigns */
  emails_per_campaign: number | null
  /** emails_sent of the month before (0 when the tenant sent nothing then) */
  previous_period_emails: number
  /** percentage change from the month before, two decimals; null when that month sent none */
  mom_growth: number | null
}

/**
 * The tenant's billing periods (calendar months in its time zone) that overlap [from, to), in
 * order, each with its usage, per-mailbox and per-campaign averages, and growth over the month
 * before, which is read even when it lies outside the range.
 */
export async function tenantUsage(
  db: Kysely<DB>,
  params: TenantUsageParams,
): Promise<TenantUsageRow[]> {
  const rows = await tenantUsageQuery(db, params).execute()
  return rows.map(toTenantUsageRow)
}

/** The statement tenantUsage runs (explain shows it and reads a figure with it). */
export function tenantUsageQuery(db: Kysely<DB>, params: TenantUsageParams) {
  checkDateRange(params)
  const { tenantId, from, to } = params
  return (
    db
      .selectFrom('billing_analytics as b')
      .innerJoin('tenants as t', (join) => join.on('t.id', '=', tenantId))
      // the period that ends where this one starts is the month before, in the tenant's zone
      .leftJoin('billing_analytics as p', (join) =>
        join.on('p.tenant_id', '=', tenantId).onRef('p.period_end', '=', 'b.period_start'),
      )
      .where('b.tenant_id', '=', tenantId)
      .where(
        'b.period_start',
        '<',
        sql<Date>`(cast(${to} as date)::timestamp at time zone t.time_zone)`,
      )
      .where(
        'b.period_end',
        '>',
        sql<Date>`(cast(${from} as date)::timestamp at time zone t.time_zone)`,
      )
      .select([
        sql<string>`to_char(b.period_start at time zone t.time_zone, 'YYYY-MM')`.as('period'),
        'b.id as billing_id',
        'b.period_start',
        'b.period_end',
        'b.subscription_id',
        'b.emails_sent',
        'b.mailboxes_used',
        'b.domains_used',
        'b.campaigns_used',
        'b.leads_used',
        'b.warmups_active',
        sql<string | null>`round(b.emails_sent::numeric / nullif(b.mailboxes_used, 0), 2)`.as(
          'emails_per_mailbox',
        ),
        sql<string | null>`round(b.emails_sent::numeric / nullif(b.campaigns_used, 0), 2)`.as(
          'emails_per_campaign',
        ),
        sql<number>`coalesce(p.emails_sent, 0)`.as('previous_period_emails'),
        sql<
          string | null
        >`round(100.0 * (b.emails_sent - p.emails_sent) / nullif(p.emails_sent, 0), 2)`.as(
          'mom_growth',
        ),
      ])
      .orderBy('b.period_start')
  )
}

type RawUsageRow = Awaited<ReturnType<ReturnType<typeof tenantUsageQuery>['execute']>>[number]

/** One row of tenantUsageQuery as the API returns it. */
export function toTenantUsageRow(r: RawUsageRow): TenantUsageRow {
  return {
    period: r.period,
    billing_id: r.billing_id,
    period_start: r.period_start.toISOString(),
    period_end: r.period_end.toISOString(),
    subscription_id: r.subscription_id,
    emails_sent: toCount(r.emails_sent),
    mailboxes_used: toCount(r.mailboxes_used),
    domains_used: toCount(r.domains_used),
    campaigns_used: toCount(r.campaigns_used),
    leads_used: toCount(r.leads_used),
    warmups_active: toCount(r.warmups_active),
    emails_per_mailbox: toDecimal(r.emails_per_mailbox),
    emails_per_campaign: toDecimal(r.emails_per_campaign),
    previous_period_emails: toCount(r.previous_period_emails),
    mom_growth: toDecimal(r.mom_growth),
  }
}
