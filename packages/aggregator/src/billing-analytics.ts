import type { DB } from '@penguinmails/schema'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import {
  addDays,
  type Day,
  monthOf,
  NO_END,
  NO_START,
  type NormalizedScope,
} from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { deleteRows, writeCounts, writeRows } from './write-rows.js'

/**
 * Recomputes billing_analytics, one row per tenant-local calendar month with a sent email. Each
 * measure counts its own set (seed defect 2): distinct mailboxes, their domains, campaigns, leads
 * and warmup mailboxes; the subscription is the one overlapping the period that started last.
 */
export async function recomputeBillingAnalytics(
  db: Kysely<DB>,
  scope: NormalizedScope,
): Promise<TableCounts> {
  const ranges = billingRanges(scope)
  const open = ranges.filter((r) => r.fromMonth === NO_START || r.toMonth === NO_END)
  const months = ranges.filter((r) => r.fromMonth !== NO_START && r.toMonth !== NO_END)
  // whole tenants: every email of each, read in one pass
  const whole = await run(
    db,
    open,
    sql`e.sent_at is not null and (b.from_at = '-infinity' or e.sent_at >= b.from_at)
          and (b.to_at = 'infinity' or e.sent_at < b.to_at)`,
  )
  // months: a plain range, so that each is an index range scan of its own emails
  const monthly = await run(db, months, sql`e.sent_at >= b.from_at and e.sent_at < b.to_at`)
  return {
    table: 'billing_analytics',
    upserted: whole.upserted + monthly.upserted,
    deleted: whole.deleted + monthly.deleted,
  }
}

async function run(
  db: Kysely<DB>,
  ranges: MonthRange[],
  emailInRange: RawBuilder<unknown>,
): Promise<TableCounts> {
  if (ranges.length === 0) return { table: 'billing_analytics', upserted: 0, deleted: 0 }
  const { rows } = await sql<{ billing_upserts: number; deletes: number }>`
    with bounds as materialized (
      select r.tenant_id, t.time_zone,
             (r.from_month::timestamp at time zone t.time_zone) as from_at,
             (r.to_month::timestamp at time zone t.time_zone) as to_at
        from unnest(${ranges.map((r) => r.tenantId)}::text[], ${ranges.map((r) => r.fromMonth)}::date[],
                    ${ranges.map((r) => r.toMonth)}::date[]) as r(tenant_id, from_month, to_month)
        join tenants t on t.id = r.tenant_id
    ),
    -- one pass over the emails down to distinct (month, mailbox, campaign, lead) combinations;
    -- each measure then counts its own set with a hashed distinct over that smaller relation
    entities as (
      select e.tenant_id, b.time_zone,
             date_trunc('month', e.sent_at at time zone b.time_zone)::date as month,
             e.email_account_id, e.campaign_id, e.lead_id, e.is_warmup, count(*) as emails
        from bounds b
        join emails e on e.tenant_id = b.tenant_id and ${emailInRange}
       group by 1, 2, 3, 4, 5, 6, 7
    ),
    months as (
      select tenant_id, time_zone, month,
             coalesce(sum(emails) filter (where not is_warmup), 0)::int as emails_sent
        from entities group by 1, 2, 3
    ),
    mailboxes as (
      select tenant_id, month, count(*)::int as mailboxes_used,
             count(*) filter (where warmup)::int as warmups_active
        from (select tenant_id, month, email_account_id, bool_or(is_warmup) as warmup
                from entities group by 1, 2, 3) m
       group by 1, 2
    ),
    domains as (
      select tenant_id, month, count(*)::int as domains_used
        from (select distinct x.tenant_id, x.month, ea.domain_id
                from (select distinct tenant_id, month, email_account_id from entities) x
                join email_accounts ea on ea.tenant_id = x.tenant_id and ea.id = x.email_account_id) d
       group by 1, 2
    ),
    campaigns_used as (
      select tenant_id, month, count(*)::int as campaigns_used
        from (select distinct tenant_id, month, campaign_id from entities
               where not is_warmup and campaign_id is not null) c
       group by 1, 2
    ),
    leads_used as (
      select tenant_id, month, count(*)::int as leads_used
        from (select distinct tenant_id, month, lead_id from entities
               where not is_warmup and lead_id is not null) l
       group by 1, 2
    ),
    usage as (
      select m.tenant_id, m.time_zone, m.month, m.emails_sent,
             coalesce(mb.mailboxes_used, 0) as mailboxes_used,
             coalesce(d.domains_used, 0) as domains_used,
             coalesce(c.campaigns_used, 0) as campaigns_used,
             coalesce(l.leads_used, 0) as leads_used,
             coalesce(mb.warmups_active, 0) as warmups_active
        from months m
        left join mailboxes mb on mb.tenant_id = m.tenant_id and mb.month = m.month
        left join domains d on d.tenant_id = m.tenant_id and d.month = m.month
        left join campaigns_used c on c.tenant_id = m.tenant_id and c.month = m.month
        left join leads_used l on l.tenant_id = m.tenant_id and l.month = m.month
    ),
    billing_rows as (
      select u.tenant_id, u.tenant_id || ':' || to_char(u.month, 'YYYY-MM') as id, p.period_start,
             p.period_end, s.id as subscription_id, u.emails_sent, u.mailboxes_used, u.domains_used,
             u.campaigns_used, u.leads_used, u.warmups_active
        from usage u
       cross join lateral (
             select (u.month::timestamp at time zone u.time_zone) as period_start,
                    ((u.month + interval '1 month')::timestamp at time zone u.time_zone) as period_end
           ) p
        left join lateral (
             select s.id from subscriptions s
              where s.tenant_id = u.tenant_id and s.started_at < p.period_end
                and (s.ended_at is null or s.ended_at > p.period_start)
              order by s.started_at desc, s.id desc
              limit 1
           ) s on true
    ),
    ${writeRows({
      name: 'billing',
      table: 'billing_analytics',
      rows: 'billing_rows',
      key: ['tenant_id', 'id'],
      columns: [
        'period_start',
        'period_end',
        'subscription_id',
        'emails_sent',
        'mailboxes_used',
        'domains_used',
        'campaigns_used',
        'leads_used',
        'warmups_active',
      ],
    })},
    ${deleteRows({
      name: 'deletes',
      table: 'billing_analytics',
      rows: 'billing_rows',
      key: ['tenant_id', 'id'],
      inScope: sql`a.tenant_id = b.tenant_id and a.period_start >= b.from_at and a.period_start < b.to_at`,
    })}
    select ${writeCounts('billing')},
           (select count(*) from deletes)::int as deletes`.execute(db)
  const r = rows[0]
  if (!r) throw new Error('billing analytics recompute returned no summary')
  return { table: 'billing_analytics', upserted: r.billing_upserts, deleted: r.deletes }
}

interface MonthRange {
  tenantId: string
  fromMonth: Day
  toMonth: Day
}

/** Whole months, merged per tenant so that no email is read twice. */
export function billingRanges(scope: NormalizedScope): MonthRange[] {
  const ranges: MonthRange[] = [
    ...scope.tenants.map((t) => ({
      tenantId: t.tenantId,
      fromMonth: t.fromDay === NO_START ? NO_START : monthOf(t.fromDay),
      toMonth: t.toDay === NO_END ? NO_END : nextMonth(monthOf(addDays(t.toDay, -1))),
    })),
    ...scope.billingAll.map((tenantId) => ({ tenantId, fromMonth: NO_START, toMonth: NO_END })),
    ...scope.billingMonths.map((b) => ({
      tenantId: b.tenantId,
      fromMonth: b.month,
      toMonth: nextMonth(b.month),
    })),
  ]
  const byTenant = new Map<string, MonthRange[]>()
  for (const r of ranges) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r])
  const merged: MonthRange[] = []
  const order = (d: Day) => (d === NO_START ? '0' : d === NO_END ? '9' : `5${d}`)
  for (const list of byTenant.values()) {
    list.sort((a, b) => order(a.fromMonth).localeCompare(order(b.fromMonth)))
    let current: MonthRange | undefined
    for (const r of list) {
      if (current && order(r.fromMonth) <= order(current.toMonth)) {
        if (order(r.toMonth) > order(current.toMonth)) current = { ...current, toMonth: r.toMonth }
      } else {
        if (current) merged.push(current)
        current = { ...r }
      }
    }
    if (current) merged.push(current)
  }
  return merged
}

function nextMonth(month: Day): Day {
  const [y, m] = month.split('-').map(Number) as [number, number]
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
}
