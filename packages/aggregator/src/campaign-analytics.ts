import type { DB } from '@penguinmails/schema'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import { emailsOfTenants, type NormalizedScope, withSequentialScans } from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { deleteRows, METRICS, writeCounts, writeRows } from './write-rows.js'

/**
 * Recomputes sequence_step_analytics and campaign_analytics for the scope in one statement: one
 * pass over the campaign emails grouped by (campaign, step, local day); a step row is its group, a
 * campaign row the sum of its groups, except completed_leads, the distinct leads of the group of the
 * campaign's final step (highest step_number among its steps). Rows whose group became empty go.
 */
export async function recomputeCampaignAnalytics(
  db: Kysely<DB>,
  scope: NormalizedScope,
): Promise<TableCounts[]> {
  const results: TableCounts[][] = []
  if (scope.tenants.length > 0) {
    const s = scope.tenants
    results.push(
      await withSequentialScans(db, () =>
        run(
          db,
          sql`
        select t.id as tenant_id, null::text as campaign_id, r.from_day, r.to_day, t.time_zone
          from unnest(${s.map((x) => x.tenantId)}::text[], ${s.map((x) => x.fromDay)}::date[],
                      ${s.map((x) => x.toDay)}::date[]) as r(tenant_id, from_day, to_day)
          join tenants t on t.id = r.tenant_id`,
          emailsOfTenants(s),
          sql`st.tenant_id = b.tenant_id`,
          sql`a.tenant_id = b.tenant_id`,
          false,
        ),
      ),
    )
  }
  if (scope.campaignDays.length > 0) {
    const s = scope.campaignDays
    results.push(
      await run(
        db,
        sql`
        select r.tenant_id, r.campaign_id, r.from_day, r.to_day, t.time_zone
          from unnest(${s.map((x) => x.tenantId)}::text[], ${s.map((x) => x.campaignId)}::text[],
                      ${s.map((x) => x.fromDay)}::date[], ${s.map((x) => x.toDay)}::date[])
                 as r(tenant_id, campaign_id, from_day, to_day)
          join tenants t on t.id = r.tenant_id`,
        sql`bounds b join emails e on e.tenant_id = b.tenant_id and e.campaign_id = b.campaign_id
            and e.sent_at >= b.from_at and e.sent_at < b.to_at`,
        sql`st.tenant_id = b.tenant_id and st.campaign_id = b.campaign_id`,
        sql`a.tenant_id = b.tenant_id and a.campaign_id = b.campaign_id`,
        true,
      ),
    )
  }
  return results.flat()
}

async function run(
  db: Kysely<DB>,
  scope: RawBuilder<unknown>,
  emailInScope: RawBuilder<unknown>,
  stepInScope: RawBuilder<unknown>,
  rowInScope: RawBuilder<unknown>,
  /** the scope holds single keys (see deleteRows) */
  byKey: boolean,
): Promise<TableCounts[]> {
  const { rows } = await sql<{
    step_upserts: number
    step_deletes: number
    step_defaults: number
    campaign_upserts: number
    campaign_deletes: number
    campaign_defaults: number
  }>`
    with bounds as materialized (
      select b.*, (b.from_day::timestamp at time zone b.time_zone) as from_at,
             (b.to_day::timestamp at time zone b.time_zone) as to_at
        from (${scope}) b
    ),
    -- level 1 groups the final step's emails by lead too (final_lead), every other step's by day
    -- only, so that level 2 counts the final step's distinct leads with a plain count: both levels
    -- hash, and the groups stay few
    fine as (
      select e.tenant_id, e.campaign_id, e.sequence_step_id,
             (e.sent_at at time zone b.time_zone)::date as day,
             case when e.sequence_step_id = f.id then e.lead_id end as final_lead,
             count(*) as sent,
             count(*) filter (where e.status = 'delivered') as delivered,
             count(e.opened_at) as opened_tracked,
             count(e.clicked_at) as clicked_tracked,
             count(e.replied_at) as replied,
             count(e.bounce_type) as bounced,
             count(e.unsubscribed_at) as unsubscribed,
             count(e.complaint_at) as spam_complaints
        from ${emailInScope}
        -- the final step of each campaign of the scope: highest step_number among its steps, sent
        -- or not. A subquery, not a CTE: a CTE has no statistics, and the planner, assuming
        -- its join keys crowded into few hash buckets, hashed the 1M emails instead of it
        left join (
          select distinct on (st.tenant_id, st.campaign_id) st.tenant_id, st.campaign_id, st.id
            from bounds b
            join campaign_sequence_steps st on ${stepInScope}
           order by st.tenant_id, st.campaign_id, st.step_number desc
        ) f on f.tenant_id = e.tenant_id and f.campaign_id = e.campaign_id
       where not e.is_warmup and e.campaign_id is not null
       group by 1, 2, 3, 4, 5
    ),
    groups as materialized (
      select tenant_id, campaign_id, sequence_step_id, day,
             sum(sent)::int as sent, sum(delivered)::int as delivered,
             sum(opened_tracked)::int as opened_tracked, sum(clicked_tracked)::int as clicked_tracked,
             sum(replied)::int as replied, sum(bounced)::int as bounced,
             sum(unsubscribed)::int as unsubscribed, sum(spam_complaints)::int as spam_complaints,
             count(final_lead)::int as completed_leads
        from fine
       group by 1, 2, 3, 4
    ),
    step_rows as (
      select g.tenant_id, st.company_id, g.campaign_id, g.sequence_step_id, st.step_number, g.day,
             g.tenant_id || ':' || to_char(g.day, 'YYYY-MM') as billing_id,
             g.sent, g.delivered, g.opened_tracked, g.clicked_tracked, g.replied, g.bounced,
             g.unsubscribed, g.spam_complaints
        from groups g
        join campaign_sequence_steps st
          on st.tenant_id = g.tenant_id and st.id = g.sequence_step_id and st.campaign_id = g.campaign_id
    ),
    -- completed_leads: only the final step's groups counted leads
    campaign_rows as (
      select g.tenant_id, c.company_id, g.campaign_id, g.day,
             g.tenant_id || ':' || to_char(g.day, 'YYYY-MM') as billing_id,
             sum(g.sent)::int as sent, sum(g.delivered)::int as delivered,
             sum(g.opened_tracked)::int as opened_tracked, sum(g.clicked_tracked)::int as clicked_tracked,
             sum(g.replied)::int as replied, sum(g.bounced)::int as bounced,
             sum(g.unsubscribed)::int as unsubscribed, sum(g.spam_complaints)::int as spam_complaints,
             sum(g.completed_leads)::int as completed_leads, c.status
        from groups g
        join campaigns c on c.tenant_id = g.tenant_id and c.id = g.campaign_id
       group by g.tenant_id, c.company_id, g.campaign_id, g.day, c.status
    ),
    ${writeRows({
      name: 'step',
      table: 'sequence_step_analytics',
      rows: 'step_rows',
      key: ['tenant_id', 'sequence_step_id', 'day'],
      columns: ['company_id', 'campaign_id', 'step_number', 'billing_id', ...METRICS],
    })},
    ${deleteRows({
      name: 'step_deletes',
      table: 'sequence_step_analytics',
      rows: 'step_rows',
      key: ['tenant_id', 'sequence_step_id', 'day'],
      inScope: sql`${rowInScope} and a.day >= b.from_day and a.day < b.to_day`,
      byKey,
    })},
    ${writeRows({
      name: 'campaign',
      table: 'campaign_analytics',
      rows: 'campaign_rows',
      key: ['tenant_id', 'campaign_id', 'day'],
      columns: ['company_id', 'billing_id', ...METRICS, 'completed_leads', 'status'],
    })},
    ${deleteRows({
      name: 'campaign_deletes',
      table: 'campaign_analytics',
      rows: 'campaign_rows',
      key: ['tenant_id', 'campaign_id', 'day'],
      inScope: sql`${rowInScope} and a.day >= b.from_day and a.day < b.to_day`,
      byKey,
    })}
    select ${writeCounts('step', 'sequence_step_analytics_default')},
           (select count(*) from step_deletes)::int as step_deletes,
           ${writeCounts('campaign', 'campaign_analytics_default')},
           (select count(*) from campaign_deletes)::int as campaign_deletes`.execute(db)
  const r = rows[0]
  if (!r) throw new Error('campaign analytics recompute returned no summary')
  return [
    {
      table: 'sequence_step_analytics',
      upserted: r.step_upserts,
      deleted: r.step_deletes,
      inDefaultPartition: r.step_defaults,
    },
    {
      table: 'campaign_analytics',
      upserted: r.campaign_upserts,
      deleted: r.campaign_deletes,
      inDefaultPartition: r.campaign_defaults,
    },
  ]
}
