import type { DB } from '@penguinmails/schema'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import {
  emailsOfTenants,
  NO_END,
  NO_START,
  type NormalizedScope,
  withSequentialScans,
} from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { deleteRows, METRICS, writeCounts, writeRows } from './write-rows.js'

/**
 * Recomputes lead_analytics, one row per (lead, campaign) over all the lead's emails in that
 * campaign, with the first status that applies: complained, unsubscribed, bounced, replied,
 * completed (sent the campaign's final step), contacted.
 */
export async function recomputeLeadAnalytics(
  db: Kysely<DB>,
  scope: NormalizedScope,
): Promise<TableCounts[]> {
  const results: TableCounts[] = []
  // a tenant's leads are not day-grained: a tenant in scope, over any range, recomputes them all
  const tenants = [...new Set(scope.tenants.map((t) => t.tenantId))]
  if (tenants.length > 0) {
    results.push(
      await withSequentialScans(db, () =>
        run(
          db,
          sql`select r.tenant_id, null::text as lead_id, null::text as campaign_id
              from unnest(${tenants}::text[]) as r(tenant_id)`,
          emailsOfTenants(
            tenants.map((tenantId) => ({ tenantId, fromDay: NO_START, toDay: NO_END })),
          ),
          sql`st.tenant_id = b.tenant_id`,
          sql`a.tenant_id = b.tenant_id`,
        ),
      ),
    )
  }
  if (scope.campaignLeads.length > 0) {
    const s = scope.campaignLeads
    results.push(
      await run(
        db,
        sql`select r.tenant_id, null::text as lead_id, r.campaign_id
              from unnest(${s.map((x) => x.tenantId)}::text[], ${s.map((x) => x.campaignId)}::text[])
                     as r(tenant_id, campaign_id)`,
        sql`bounds b join emails e on e.tenant_id = b.tenant_id and e.campaign_id = b.campaign_id`,
        sql`st.tenant_id = b.tenant_id and st.campaign_id = b.campaign_id`,
        sql`a.tenant_id = b.tenant_id and a.campaign_id = b.campaign_id`,
      ),
    )
  }
  if (scope.leads.length > 0) {
    const s = scope.leads
    results.push(
      await run(
        db,
        sql`select r.tenant_id, r.lead_id, r.campaign_id
              from unnest(${s.map((x) => x.tenantId)}::text[], ${s.map((x) => x.leadId)}::text[],
                          ${s.map((x) => x.campaignId)}::text[]) as r(tenant_id, lead_id, campaign_id)`,
        sql`bounds b join emails e on e.tenant_id = b.tenant_id and e.lead_id = b.lead_id and e.campaign_id = b.campaign_id`,
        sql`st.tenant_id = b.tenant_id and st.campaign_id = b.campaign_id`,
        sql`a.tenant_id = b.tenant_id and a.lead_id = b.lead_id and a.campaign_id = b.campaign_id`,
      ),
    )
  }
  return results
}

async function run(
  db: Kysely<DB>,
  scope: RawBuilder<unknown>,
  emailInScope: RawBuilder<unknown>,
  stepInScope: RawBuilder<unknown>,
  rowInScope: RawBuilder<unknown>,
): Promise<TableCounts> {
  const { rows } = await sql<{ lead_upserts: number; deletes: number }>`
    with bounds as materialized (select * from (${scope}) b),
    -- each email is compared with its campaign's final step before grouping: the groups carry a
    -- flag rather than an array of steps, and hash in little memory
    groups as (
      select e.tenant_id, e.lead_id, e.campaign_id,
             count(*)::int as sent,
             count(*) filter (where e.status = 'delivered')::int as delivered,
             count(e.opened_at)::int as opened_tracked,
             count(e.clicked_at)::int as clicked_tracked,
             count(e.replied_at)::int as replied,
             count(e.bounce_type)::int as bounced,
             count(e.unsubscribed_at)::int as unsubscribed,
             count(e.complaint_at)::int as spam_complaints,
             max(e.sent_at) as last_sent_at,
             coalesce(bool_or(e.sequence_step_id = f.id), false) as completed
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
       where not e.is_warmup and e.sent_at is not null and e.lead_id is not null
         and e.campaign_id is not null
       group by 1, 2, 3
    ),
    lead_rows as (
      select g.tenant_id, c.company_id, g.lead_id, g.campaign_id,
             g.tenant_id || ':' || to_char(g.last_sent_at at time zone t.time_zone, 'YYYY-MM') as billing_id,
             g.sent, g.delivered, g.opened_tracked, g.clicked_tracked, g.replied, g.bounced,
             g.unsubscribed, g.spam_complaints, g.last_sent_at,
             case
               when g.spam_complaints > 0 then 'complained'
               when g.unsubscribed > 0 then 'unsubscribed'
               when g.bounced > 0 then 'bounced'
               when g.replied > 0 then 'replied'
               when g.completed then 'completed'
               else 'contacted'
             end as status
        from groups g
        join tenants t on t.id = g.tenant_id
        join campaigns c on c.tenant_id = g.tenant_id and c.id = g.campaign_id
    ),
    ${writeRows({
      name: 'lead',
      table: 'lead_analytics',
      rows: 'lead_rows',
      key: ['tenant_id', 'lead_id', 'campaign_id'],
      columns: ['company_id', 'billing_id', ...METRICS, 'status', 'last_sent_at'],
    })},
    ${deleteRows({
      name: 'deletes',
      table: 'lead_analytics',
      rows: 'lead_rows',
      key: ['tenant_id', 'lead_id', 'campaign_id'],
      inScope: rowInScope,
    })}
    select ${writeCounts('lead')},
           (select count(*) from deletes)::int as deletes`.execute(db)
  const r = rows[0]
  if (!r) throw new Error('lead analytics recompute returned no summary')
  return { table: 'lead_analytics', upserted: r.lead_upserts, deleted: r.deletes }
}
