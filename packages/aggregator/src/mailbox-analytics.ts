import type { DB } from '@penguinmails/schema'
import { type Kysely, type RawBuilder, sql } from 'kysely'
import {
  addDays,
  type Day,
  emailsOfTenants,
  NO_END,
  NO_START,
  type NormalizedScope,
  withSequentialScans,
} from './recompute-scope.js'
import type { TableCounts } from './table-counts.js'
import { deleteRows, METRICS, writeCounts, writeRows } from './write-rows.js'

/**
 * Recomputes mailbox_analytics and warmup_analytics for the scope: per kind of scope one statement
 * that groups the emails by mailbox and local day, then takes 7-day windows (days d-6 … d) for the
 * health scores. A change on day d moves the health of days d … d+6, so key ranges are widened by
 * 6 days; whole tenants and whole mailboxes read those days' emails too, changed days take them
 * from the stored rows.
 */
export async function recomputeMailboxAnalytics(
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
        select t.id as tenant_id, null::text as mailbox_id, r.from_day, r.to_day, t.time_zone
          from unnest(${s.map((x) => x.tenantId)}::text[], ${s.map((x) => x.fromDay)}::date[],
                      ${s.map((x) => addDays(x.toDay, 6))}::date[]) as r(tenant_id, from_day, to_day)
          join tenants t on t.id = r.tenant_id`,
          sql`select d.*, ${WINDOWED} from (select ${emailDays(emailsOfTenants(s, 'read_from_at'), WITHIN_RANGE)}) d`,
          { inScope: sql`a.tenant_id = b.tenant_id and a.day >= b.from_day and a.day < b.to_day` },
        ),
      ),
    )
  }
  // a whole mailbox (its warmup row changed): every day from its emails
  const whole = scope.mailboxDays.filter((m) => m.fromDay === NO_START || m.toDay === NO_END)
  if (whole.length > 0) {
    results.push(
      await run(
        db,
        sql`
        select r.tenant_id, r.mailbox_id, r.from_day, r.to_day, t.time_zone
          from unnest(${whole.map((x) => x.tenantId)}::text[], ${whole.map((x) => x.mailboxId)}::text[],
                      ${whole.map((x) => x.fromDay)}::date[], ${whole.map((x) => x.toDay)}::date[])
                 as r(tenant_id, mailbox_id, from_day, to_day)
          join tenants t on t.id = r.tenant_id`,
        sql`select d.*, ${WINDOWED} from (select ${emailDays(
          sql`bounds b join emails e on e.tenant_id = b.tenant_id
               and e.email_account_id = b.mailbox_id and e.sent_at is not null
               and (b.read_from_at = '-infinity' or e.sent_at >= b.read_from_at)
               and (b.to_at = 'infinity' or e.sent_at < b.to_at)`,
          WITHIN_RANGE,
        )}) d`,
        {
          inScope: sql`a.tenant_id = b.tenant_id and a.email_account_id = b.mailbox_id
                       and a.day >= b.from_day and a.day < b.to_day`,
          byKey: true,
        },
      ),
    )
  }
  // changed days: their emails are read again. A day whose health inputs (all emails, bounces
  // and complaints, warmup ones among them) are unchanged — an open, a click, a reply — moves no
  // window: it is written with its stored health scores. A day whose inputs changed ("shifted")
  // moves its own window and the 6 after it: those days are recomputed, every day their windows
  // read (the 6 before each) taken from the stored daily rows, which hold the same counts. A day
  // among those whose own change is still waiting is stale here only until its key is drained,
  // and that drain rewrites every day whose window it is in.
  const days = scope.mailboxDays.filter((m) => m.fromDay !== NO_START && m.toDay !== NO_END)
  if (days.length > 0) {
    // one row per changed day: arrays the planner counts, where a generate_series over the ranges
    // was estimated at 1,000 days each and made it hash whole analytics tables
    const changedDays = days.flatMap((m) => {
      const list: { tenantId: string; mailboxId: string; day: Day }[] = []
      for (let d = m.fromDay; d < m.toDay; d = addDays(d, 1))
        list.push({ tenantId: m.tenantId, mailboxId: m.mailboxId, day: d })
      return list
    })
    results.push(
      await run(
        db,
        sql`
        select r.tenant_id, r.mailbox_id, r.from_day, r.key_to, r.key_to + 6 as to_day, t.time_zone,
               (r.from_day::timestamp at time zone t.time_zone) as key_from_at,
               (r.key_to::timestamp at time zone t.time_zone) as key_to_at
          from unnest(${days.map((x) => x.tenantId)}::text[], ${days.map((x) => x.mailboxId)}::text[],
                      ${days.map((x) => x.fromDay)}::date[], ${days.map((x) => x.toDay)}::date[])
                 as r(tenant_id, mailbox_id, from_day, key_to)
          join tenants t on t.id = r.tenant_id`,
        sql`
        select f.*, n.day is not null as window_ok, c.health_score as stored_health,
               c.w_health_score as stored_w_health
          from fresh f
          join changed c on c.tenant_id = f.tenant_id and c.mailbox_id = f.email_account_id
           and c.day = f.day
          left join needed n on n.tenant_id = f.tenant_id and n.mailbox_id = f.email_account_id
           and n.day = f.day and n.writable
        union all
        select n.tenant_id, n.mailbox_id, n.day, '' as part, n.writable, n.time_zone,
               (n.m).current_volume, (n.m).bounced + coalesce((n.w).bounced, 0),
               (n.m).spam_complaints + coalesce((n.w).spam_complaints, 0),
               (n.m).sent, (n.m).delivered, (n.m).opened_tracked, (n.m).clicked_tracked,
               (n.m).replied, (n.m).bounced, (n.m).unsubscribed, (n.m).spam_complaints,
               coalesce((n.w).sent, 0), coalesce((n.w).delivered, 0),
               coalesce((n.w).opened_tracked, 0), coalesce((n.w).clicked_tracked, 0),
               coalesce((n.w).replied, 0), coalesce((n.w).bounced, 0),
               coalesce((n.w).unsubscribed, 0), coalesce((n.w).spam_complaints, 0),
               true, null::int, null::int
          from (select n.*, ${storedDay('mailbox_analytics', sql`n.tenant_id`, sql`n.mailbox_id`, sql`n.day`)} as m,
                       -- a warmup row exists only beside a mailbox row of the same day (both
                       -- come from the same day groups, the warmup one when a warmup email was sent)
                       ${storedDay('warmup_analytics', sql`n.tenant_id`, sql`n.mailbox_id`, sql`n.day`)} as w
                  from needed n where not n.dirty offset 0) n
         where (n.m).tenant_id is not null`,
        {
          scope: sql`needed b`,
          inScope: sql`a.tenant_id = b.tenant_id and a.email_account_id = b.mailbox_id
                       and a.day = b.day and b.writable`,
          byKey: true,
        },
        sql`
        -- the changed days' emails, grouped
        fresh as materialized (
          select ${emailDays(
            sql`bounds b join emails e on e.tenant_id = b.tenant_id
                 and e.email_account_id = b.mailbox_id
                 and e.sent_at >= b.key_from_at and e.sent_at < b.key_to_at`,
            sql`''::text as part, true as writable`,
          )}
        ),
        -- each changed day beside its stored row: shifted when a health input differs (a day
        -- emptied or new included)
        changed as materialized (
          select d.tenant_id, d.mailbox_id, d.day, d.time_zone, (d.m).health_score,
                 (d.w).health_score as w_health_score,
                 (f.all_sent, f.all_bounced, f.all_complaints, f.w_sent, f.w_bounced,
                  f.w_spam_complaints)
                   is distinct from
                 ((d.m).current_volume, (d.m).bounced + coalesce((d.w).bounced, 0),
                  (d.m).spam_complaints + coalesce((d.w).spam_complaints, 0),
                  coalesce((d.w).sent, 0), coalesce((d.w).bounced, 0),
                  coalesce((d.w).spam_complaints, 0)) as shifted
            from (select d.*, t.time_zone,
                         ${storedDay('mailbox_analytics', sql`d.tenant_id`, sql`d.mailbox_id`, sql`d.day`)} as m,
                         ${storedDay('warmup_analytics', sql`d.tenant_id`, sql`d.mailbox_id`, sql`d.day`)} as w
                    from unnest(${changedDays.map((x) => x.tenantId)}::text[],
                                ${changedDays.map((x) => x.mailboxId)}::text[],
                                ${changedDays.map((x) => x.day)}::date[]) as d(tenant_id, mailbox_id, day)
                    join tenants t on t.id = d.tenant_id
                  offset 0) d
            left join fresh f on f.tenant_id = d.tenant_id and f.email_account_id = d.mailbox_id
             and f.day = d.day
        ),
        -- per mailbox, every day a window of a recomputed day reads: the shifted days and the 6
        -- before and after each; recomputed (writable) are the shifted days and the 6 after each;
        -- changed days come from fresh, the others from the stored rows
        needed as materialized (
          select s.tenant_id, s.mailbox_id, s.day + g.o as day, min(s.time_zone) as time_zone,
                 bool_or(g.o >= 0) as writable, bool_or(c.day is not null) as dirty
            from changed s
           -- integer bounds: the planner counts these 13 rows exactly
           cross join generate_series(-6, 6) as g(o)
            left join changed c on c.tenant_id = s.tenant_id and c.mailbox_id = s.mailbox_id
             and c.day = s.day + g.o
           where s.shifted
           group by 1, 2, 3
        ),`,
      ),
    )
  }
  return results.flat()
}

/**
 * A day group's window partition and whether its rows are written, for scopes of ranges: each
 * range reads its own days (see normalizeScope), and writes [from_day, to_day).
 */
const WITHIN_RANGE = sql`b.from_day::text as part,
  (e.sent_at at time zone b.time_zone)::date >= b.from_day
    and (e.sent_at at time zone b.time_zone)::date < b.to_day as writable`

/**
 * The stored row of one mailbox or warmup day as a scalar subquery: looked up by index once per outer row,
 * and, unlike a join, it leaves the planner's row estimates alone. Joined, the planner costed a
 * lookup in every monthly partition and scanned whole tables instead; as a LATERAL it multiplied
 * its estimates by the partitions until later joins of the statement did the same.
 */
function storedDay(
  table: 'mailbox_analytics' | 'warmup_analytics',
  tenant: RawBuilder<unknown>,
  mailbox: RawBuilder<unknown>,
  day: RawBuilder<unknown>,
) {
  return sql`(select x from ${sql.table(table)} x
               where x.tenant_id = ${tenant} and x.email_account_id = ${mailbox} and x.day = ${day})`
}

/** Day groups whose health scores come from their windows (see run's dayGroups). */
const WINDOWED = sql`true as window_ok, null::int as stored_health, null::int as stored_w_health`

async function run(
  db: Kysely<DB>,
  scope: RawBuilder<unknown>,
  /**
   * rows of (tenant, mailbox, day, part, writable, time_zone, the counts of emailDays, window_ok,
   * stored_health, stored_w_health): the health windows run over the days of one part of a
   * mailbox; writable rows are written, with the scores of their windows when window_ok, else
   * with the stored ones (a day whose health inputs did not change)
   */
  dayGroups: RawBuilder<unknown>,
  /** the stored rows of the scope, deleted when not recomputed (see deleteRows) */
  stored: { inScope: RawBuilder<unknown>; scope?: RawBuilder<unknown>; byKey?: boolean },
  moreCtes: RawBuilder<unknown> = sql``,
): Promise<TableCounts[]> {
  const { rows } = await sql<{
    mailbox_upserts: number
    mailbox_deletes: number
    mailbox_defaults: number
    warmup_upserts: number
    warmup_deletes: number
    warmup_defaults: number
  }>`
    with bounds as materialized (
      select b.*, ((b.from_day - 6)::timestamp at time zone b.time_zone) as read_from_at,
             (b.to_day::timestamp at time zone b.time_zone) as to_at
        from (${scope}) b
    ),
    ${moreCtes}
    -- materialized so that it is planned on its own: hashed, then the window sorts the few day
    -- groups (inline, the window's order made the planner sort every email instead)
    days as materialized (
      ${dayGroups}
    ),
    windows as (
      select d.*,
             sum(all_sent) over w as win_sent, sum(all_bounced) over w as win_bounced,
             sum(all_complaints) over w as win_complaints,
             sum(w_sent) over w as win_w_sent, sum(w_bounced) over w as win_w_bounced,
             sum(w_spam_complaints) over w as win_w_complaints
        from days d
      window w as (partition by d.tenant_id, d.email_account_id, d.part order by d.day
                   range between '6 days' preceding and current row)
    ),
    mailbox_rows as (
      select w.tenant_id, ea.company_id, w.email_account_id, w.day,
             w.tenant_id || ':' || to_char(w.day, 'YYYY-MM') as billing_id,
             w.sent, w.delivered, w.opened_tracked, w.clicked_tracked, w.replied, w.bounced,
             w.unsubscribed, w.spam_complaints, w.all_sent as current_volume,
             ws.status as warmup_status,
             case when w.sent > 0 then 'active' else 'idle' end as campaign_status,
             case when w.window_ok
               then (100 - least(50, (600 * w.win_bounced) / w.win_sent)
                         - least(50, (10000 * w.win_complaints) / w.win_sent))::int
               else w.stored_health end as health_score
        from windows w
        join email_accounts ea on ea.tenant_id = w.tenant_id and ea.id = w.email_account_id
        left join warmup_status ws on ws.tenant_id = w.tenant_id and ws.email_account_id = w.email_account_id
       where w.writable
    ),
    warmup_rows as (
      select w.tenant_id, ea.company_id, w.email_account_id, w.day,
             w.tenant_id || ':' || to_char(w.day, 'YYYY-MM') as billing_id,
             w.w_sent as sent, w.w_delivered as delivered, w.w_opened_tracked as opened_tracked,
             w.w_clicked_tracked as clicked_tracked, w.w_replied as replied, w.w_bounced as bounced,
             w.w_unsubscribed as unsubscribed, w.w_spam_complaints as spam_complaints,
             case when w.window_ok
               then (100 - least(50, (600 * w.win_w_bounced) / w.win_w_sent)
                         - least(50, (10000 * w.win_w_complaints) / w.win_w_sent))::int
               else w.stored_w_health end as health_score,
             case
               when ws.id is null or w.day < (ws.started_at at time zone w.time_zone)::date then 0
               else least(100, (100 * (w.day - (ws.started_at at time zone w.time_zone)::date + 1)) / ws.ramp_days)
             end::int as progress_percentage
        from windows w
        join email_accounts ea on ea.tenant_id = w.tenant_id and ea.id = w.email_account_id
        left join warmup_status ws on ws.tenant_id = w.tenant_id and ws.email_account_id = w.email_account_id
       where w.writable and w.w_sent > 0
    ),
    ${writeRows({
      name: 'mailbox',
      table: 'mailbox_analytics',
      rows: 'mailbox_rows',
      key: ['tenant_id', 'email_account_id', 'day'],
      columns: [
        'company_id',
        'billing_id',
        ...METRICS,
        'current_volume',
        'warmup_status',
        'campaign_status',
        'health_score',
      ],
    })},
    ${deleteRows({
      name: 'mailbox_deletes',
      table: 'mailbox_analytics',
      rows: 'mailbox_rows',
      key: ['tenant_id', 'email_account_id', 'day'],
      ...stored,
    })},
    ${writeRows({
      name: 'warmup',
      table: 'warmup_analytics',
      rows: 'warmup_rows',
      key: ['tenant_id', 'email_account_id', 'day'],
      columns: ['company_id', 'billing_id', ...METRICS, 'health_score', 'progress_percentage'],
    })},
    ${deleteRows({
      name: 'warmup_deletes',
      table: 'warmup_analytics',
      rows: 'warmup_rows',
      key: ['tenant_id', 'email_account_id', 'day'],
      ...stored,
    })}
    select ${writeCounts('mailbox', 'mailbox_analytics_default')},
           (select count(*) from mailbox_deletes)::int as mailbox_deletes,
           ${writeCounts('warmup', 'warmup_analytics_default')},
           (select count(*) from warmup_deletes)::int as warmup_deletes`.execute(db)
  const r = rows[0]
  if (!r) throw new Error('mailbox analytics recompute returned no summary')
  return [
    {
      table: 'mailbox_analytics',
      upserted: r.mailbox_upserts,
      deleted: r.mailbox_deletes,
      inDefaultPartition: r.mailbox_defaults,
    },
    {
      table: 'warmup_analytics',
      upserted: r.warmup_upserts,
      deleted: r.warmup_deletes,
      inDefaultPartition: r.warmup_defaults,
    },
  ]
}

/** The emails of the scope grouped by mailbox and local day: every count a mailbox row needs. */
function emailDays(
  emailsInScope: RawBuilder<unknown>,
  /** the `part` and `writable` columns */
  labels: RawBuilder<unknown>,
): RawBuilder<unknown> {
  return sql`
             e.tenant_id, e.email_account_id, (e.sent_at at time zone b.time_zone)::date as day,
             ${labels}, b.time_zone,
             count(*)::int as all_sent,
             count(e.bounce_type)::int as all_bounced,
             count(e.complaint_at)::int as all_complaints,
             count(*) filter (where not e.is_warmup)::int as sent,
             count(*) filter (where not e.is_warmup and e.status = 'delivered')::int as delivered,
             count(e.opened_at) filter (where not e.is_warmup)::int as opened_tracked,
             count(e.clicked_at) filter (where not e.is_warmup)::int as clicked_tracked,
             count(e.replied_at) filter (where not e.is_warmup)::int as replied,
             count(e.bounce_type) filter (where not e.is_warmup)::int as bounced,
             count(e.unsubscribed_at) filter (where not e.is_warmup)::int as unsubscribed,
             count(e.complaint_at) filter (where not e.is_warmup)::int as spam_complaints,
             count(*) filter (where e.is_warmup)::int as w_sent,
             count(*) filter (where e.is_warmup and e.status = 'delivered')::int as w_delivered,
             count(e.opened_at) filter (where e.is_warmup)::int as w_opened_tracked,
             count(e.clicked_at) filter (where e.is_warmup)::int as w_clicked_tracked,
             count(e.replied_at) filter (where e.is_warmup)::int as w_replied,
             count(e.bounce_type) filter (where e.is_warmup)::int as w_bounced,
             count(e.unsubscribed_at) filter (where e.is_warmup)::int as w_unsubscribed,
             count(e.complaint_at) filter (where e.is_warmup)::int as w_spam_complaints
        from ${emailsInScope}
       group by 1, 2, 3, 4, 5, 6`
}
