import type { DB } from '@penguinmails/schema'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import { type NormalizedScope, withSequentialScans } from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'

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
          sql`e.tenant_id = b.tenant_id`,
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
        sql`e.tenant_id = b.tenant_id and e.campaign_id = b.campaign_id`,
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
        sql`e.tenant_id = b.tenant_id and e.lead_id = b.lead_id and e.campaign_id = b.campaign_id`,
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
  rowInScope: RawBuilder<unknown>,
): Promise<TableCounts> {
  const { rows } = await sql<{ upserts: number; deletes: number }>`
    with bounds as materialized (select * from (${scope}) b),
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
             array_agg(e.sequence_step_id) as steps
        from bounds b
        join emails e on ${emailInScope}
       where not e.is_warmup and e.sent_at is not null and e.lead_id is not null
         and e.campaign_id is not null
       group by 1, 2, 3
    ),
    final_steps as materialized (
      select c.tenant_id, c.campaign_id,
             (select st.id from campaign_sequence_steps st
               where st.tenant_id = c.tenant_id and st.campaign_id = c.campaign_id
               order by st.step_number desc limit 1) as id
        from (select distinct tenant_id, campaign_id from groups) c
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
               when f.id = any(g.steps) then 'completed'
               else 'contacted'
             end as status
        from groups g
        join tenants t on t.id = g.tenant_id
        join campaigns c on c.tenant_id = g.tenant_id and c.id = g.campaign_id
        left join final_steps f on f.tenant_id = g.tenant_id and f.campaign_id = g.campaign_id
    ),
    upserts as (
      insert into lead_analytics as a
        (tenant_id, company_id, lead_id, campaign_id, billing_id, sent, delivered, opened_tracked,
         clicked_tracked, replied, bounced, unsubscribed, spam_complaints, status, last_sent_at)
      select tenant_id, company_id, lead_id, campaign_id, billing_id, sent, delivered, opened_tracked,
             clicked_tracked, replied, bounced, unsubscribed, spam_complaints, status, last_sent_at
        from lead_rows
      on conflict (tenant_id, lead_id, campaign_id) do update set
        company_id = excluded.company_id, billing_id = excluded.billing_id,
        sent = excluded.sent, delivered = excluded.delivered,
        opened_tracked = excluded.opened_tracked, clicked_tracked = excluded.clicked_tracked,
        replied = excluded.replied, bounced = excluded.bounced,
        unsubscribed = excluded.unsubscribed, spam_complaints = excluded.spam_complaints,
        status = excluded.status, last_sent_at = excluded.last_sent_at, updated_at = now()
      where (a.company_id, a.billing_id, a.sent, a.delivered, a.opened_tracked, a.clicked_tracked,
             a.replied, a.bounced, a.unsubscribed, a.spam_complaints, a.status, a.last_sent_at)
            is distinct from
            (excluded.company_id, excluded.billing_id, excluded.sent, excluded.delivered,
             excluded.opened_tracked, excluded.clicked_tracked, excluded.replied, excluded.bounced,
             excluded.unsubscribed, excluded.spam_complaints, excluded.status, excluded.last_sent_at)
      returning 1
    ),
    deletes as (
      delete from lead_analytics a
       using bounds b
       where ${rowInScope}
         and not exists (select from lead_rows r where r.tenant_id = a.tenant_id
                            and r.lead_id = a.lead_id and r.campaign_id = a.campaign_id)
      returning 1
    )
    select (select count(*) from upserts)::int as upserts,
           (select count(*) from deletes)::int as deletes`.execute(db)
  const r = rows[0]
  if (!r) throw new Error('lead analytics recompute returned no summary')
  return { table: 'lead_analytics', upserted: r.upserts, deleted: r.deletes }
}
