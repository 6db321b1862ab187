import type { DB } from '@penguinmails/schema'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import { emailsOfTenants, type NormalizedScope, withSequentialScans } from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'

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
          sql`a.tenant_id = b.tenant_id`,
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
        sql`e.tenant_id = b.tenant_id and e.campaign_id = b.campaign_id
            and e.sent_at >= b.from_at and e.sent_at < b.to_at`,
        sql`a.tenant_id = b.tenant_id and a.campaign_id = b.campaign_id`,
      ),
    )
  }
  return results.flat()
}

async function run(
  db: Kysely<DB>,
  scope: RawBuilder<unknown>,
  emailInScope: RawBuilder<unknown>,
  rowInScope: RawBuilder<unknown>,
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
    -- level 1 groups by lead too, so that level 2 counts distinct leads with a plain count(*):
    -- both levels hash, and no email is joined to anything
    fine as (
      select e.tenant_id, e.campaign_id, e.sequence_step_id,
             (e.sent_at at time zone b.time_zone)::date as day, e.lead_id,
             count(*) as sent,
             count(*) filter (where e.status = 'delivered') as delivered,
             count(e.opened_at) as opened_tracked,
             count(e.clicked_at) as clicked_tracked,
             count(e.replied_at) as replied,
             count(e.bounce_type) as bounced,
             count(e.unsubscribed_at) as unsubscribed,
             count(e.complaint_at) as spam_complaints
        from bounds b
        join emails e on ${emailInScope}
       where not e.is_warmup and e.campaign_id is not null
       group by 1, 2, 3, 4, 5
    ),
    groups as (
      select tenant_id, campaign_id, sequence_step_id, day,
             sum(sent)::int as sent, sum(delivered)::int as delivered,
             sum(opened_tracked)::int as opened_tracked, sum(clicked_tracked)::int as clicked_tracked,
             sum(replied)::int as replied, sum(bounced)::int as bounced,
             sum(unsubscribed)::int as unsubscribed, sum(spam_complaints)::int as spam_complaints,
             count(lead_id)::int as leads
        from fine
       group by 1, 2, 3, 4
    ),
    -- the final step of each campaign: highest step_number among its steps, sent or not
    final_steps as materialized (
      select c.tenant_id, c.campaign_id,
             (select st.id from campaign_sequence_steps st
               where st.tenant_id = c.tenant_id and st.campaign_id = c.campaign_id
               order by st.step_number desc limit 1) as id
        from (select distinct tenant_id, campaign_id from groups) c
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
    campaign_rows as (
      select g.tenant_id, c.company_id, g.campaign_id, g.day,
             g.tenant_id || ':' || to_char(g.day, 'YYYY-MM') as billing_id,
             sum(g.sent)::int as sent, sum(g.delivered)::int as delivered,
             sum(g.opened_tracked)::int as opened_tracked, sum(g.clicked_tracked)::int as clicked_tracked,
             sum(g.replied)::int as replied, sum(g.bounced)::int as bounced,
             sum(g.unsubscribed)::int as unsubscribed, sum(g.spam_complaints)::int as spam_complaints,
             coalesce(sum(g.leads) filter (where g.sequence_step_id = f.id), 0)::int as completed_leads,
             c.status
        from groups g
        join campaigns c on c.tenant_id = g.tenant_id and c.id = g.campaign_id
        left join final_steps f on f.tenant_id = g.tenant_id and f.campaign_id = g.campaign_id
       group by g.tenant_id, c.company_id, g.campaign_id, g.day, c.status
    ),
    step_upserts as (
      insert into sequence_step_analytics as a
        (tenant_id, company_id, campaign_id, sequence_step_id, step_number, day, billing_id, sent,
         delivered, opened_tracked, clicked_tracked, replied, bounced, unsubscribed, spam_complaints)
      select tenant_id, company_id, campaign_id, sequence_step_id, step_number, day, billing_id, sent,
             delivered, opened_tracked, clicked_tracked, replied, bounced, unsubscribed, spam_complaints
        from step_rows
      on conflict (tenant_id, sequence_step_id, day) do update set
        company_id = excluded.company_id, campaign_id = excluded.campaign_id,
        step_number = excluded.step_number, billing_id = excluded.billing_id,
        sent = excluded.sent, delivered = excluded.delivered,
        opened_tracked = excluded.opened_tracked, clicked_tracked = excluded.clicked_tracked,
        replied = excluded.replied, bounced = excluded.bounced,
        unsubscribed = excluded.unsubscribed, spam_complaints = excluded.spam_complaints,
        updated_at = now()
      where (a.company_id, a.campaign_id, a.step_number, a.billing_id, a.sent, a.delivered,
             a.opened_tracked, a.clicked_tracked, a.replied, a.bounced, a.unsubscribed, a.spam_complaints)
            is distinct from
            (excluded.company_id, excluded.campaign_id, excluded.step_number, excluded.billing_id,
             excluded.sent, excluded.delivered, excluded.opened_tracked, excluded.clicked_tracked,
             excluded.replied, excluded.bounced, excluded.unsubscribed, excluded.spam_complaints)
      returning a.tableoid
    ),
    step_deletes as (
      delete from sequence_step_analytics a
       using bounds b
       where ${rowInScope} and a.day >= b.from_day and a.day < b.to_day
         and not exists (select from step_rows r where r.tenant_id = a.tenant_id
                            and r.sequence_step_id = a.sequence_step_id and r.day = a.day)
      returning 1
    ),
    campaign_upserts as (
      insert into campaign_analytics as a
        (tenant_id, company_id, campaign_id, day, billing_id, sent, delivered, opened_tracked,
         clicked_tracked, replied, bounced, unsubscribed, spam_complaints, completed_leads, status)
      select tenant_id, company_id, campaign_id, day, billing_id, sent, delivered, opened_tracked,
             clicked_tracked, replied, bounced, unsubscribed, spam_complaints, completed_leads, status
        from campaign_rows
      on conflict (tenant_id, campaign_id, day) do update set
        company_id = excluded.company_id, billing_id = excluded.billing_id,
        sent = excluded.sent, delivered = excluded.delivered,
        opened_tracked = excluded.opened_tracked, clicked_tracked = excluded.clicked_tracked,
        replied = excluded.replied, bounced = excluded.bounced,
        unsubscribed = excluded.unsubscribed, spam_complaints = excluded.spam_complaints,
        completed_leads = excluded.completed_leads, status = excluded.status, updated_at = now()
      where (a.company_id, a.billing_id, a.sent, a.delivered, a.opened_tracked, a.clicked_tracked,
             a.replied, a.bounced, a.unsubscribed, a.spam_complaints, a.completed_leads, a.status)
            is distinct from
            (excluded.company_id, excluded.billing_id, excluded.sent, excluded.delivered,
             excluded.opened_tracked, excluded.clicked_tracked, excluded.replied, excluded.bounced,
             excluded.unsubscribed, excluded.spam_complaints, excluded.completed_leads, excluded.status)
      returning a.tableoid
    ),
    campaign_deletes as (
      delete from campaign_analytics a
       using bounds b
       where ${rowInScope} and a.day >= b.from_day and a.day < b.to_day
         and not exists (select from campaign_rows r where r.tenant_id = a.tenant_id
                            and r.campaign_id = a.campaign_id and r.day = a.day)
      returning 1
    )
    select (select count(*) from step_upserts)::int as step_upserts,
           (select count(*) from step_deletes)::int as step_deletes,
           (select count(*) from step_upserts
             where tableoid = 'sequence_step_analytics_default'::regclass)::int as step_defaults,
           (select count(*) from campaign_upserts)::int as campaign_upserts,
           (select count(*) from campaign_deletes)::int as campaign_deletes,
           (select count(*) from campaign_upserts
             where tableoid = 'campaign_analytics_default'::regclass)::int as campaign_defaults`.execute(
    db,
  )
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
