import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange } from './date-range.js'
import type { FigureExplanation, FigureValue } from './explain-figure.js'
import { shown, sourcePage, sourceStatement, toSourceEmail } from './explain-metric.js'
import { toCount } from './numeric-values.js'
import type { PageRequest } from './page.js'

export interface ExplainWarmupProgressParams extends PageRequest {
  tenantId: string
  mailboxId: string
  /** the range of the mailboxes list: the progress is that of the last warmup day in it */
  from: string
  to: string
}

const FORMULA =
  'warmup_progress_percentage = progress_percentage of the mailbox’s last day in [from, to) with warmup emails (is_warmup = true, sent_at set, in the tenant’s time zone): min(100, ⌊100 · (d − start day + 1) / ramp_days⌋) from its warmup_status row (start day: started_at in the tenant’s time zone), 0 before the start or without a warmup row; null without warmup emails in the range. A schedule, not a sample: no sample flag.'

/**
 * Explains the warmup_progress_percentage /v1/mailboxes returns for a mailbox over [from, to): the
 * last warmup day, the warmup status row it is computed from, the warmup emails of the range (the
 * last of their days is that day), and the value recomputed from them. Null when the tenant has no
 * such mailbox.
 */
export async function explainWarmupProgress(
  db: Kysely<DB>,
  params: ExplainWarmupProgressParams,
): Promise<FigureExplanation | null> {
  checkDateRange(params)
  const { tenantId, mailboxId, from, to } = params
  const exists = await sql`select 1 from email_accounts
     where tenant_id = ${tenantId} and id = ${mailboxId}`.execute(db)
  if (exists.rows.length === 0) return null
  // as mailboxes() reads it: the last warmup_analytics row in the range
  const figure = sql<{ day: string; progress_percentage: number }>`
    select w.day::text as day, w.progress_percentage from warmup_analytics w
     where w.tenant_id = ${tenantId} and w.email_account_id = ${mailboxId}
       and w.day >= ${from} and w.day < ${to}
     order by w.day desc limit 1`
  const latest = (await figure.execute(db)).rows[0]
  const source = sourceStatement(
    { tenantId, from, to },
    {
      formula: '',
      where: [sql<boolean>`e.email_account_id = ${mailboxId}`, sql<boolean>`e.is_warmup`],
    },
  )
  const recompute = sql<{ day: string | null; progress: number | null; n: string }>`
    select d.day::text as day, d.n,
           case when d.day is null then null
                when ws.id is null or d.day < (ws.started_at at time zone t.time_zone)::date then 0
                else least(100, (100 * (d.day - (ws.started_at at time zone t.time_zone)::date + 1)) / ws.ramp_days)
           end::int as progress
      from (select max(s.day) as day, count(*) as n from (${source}) s) d
      join tenants t on t.id = ${tenantId}
      left join warmup_status ws on ws.tenant_id = ${tenantId} and ws.email_account_id = ${mailboxId}`
  const fresh = (await recompute.execute(db)).rows[0]
  const { rows: days } = await sql<Record<string, FigureValue>>`
    select w.day::text as day, w.sent, w.progress_percentage from warmup_analytics w
     where w.tenant_id = ${tenantId} and w.email_account_id = ${mailboxId}
       and w.day >= ${from} and w.day < ${to}
     order by w.day`.execute(db)
  const { rows: status } = await sql<{ status: string; started_at: Date; ramp_days: number }>`
    select ws.status, ws.started_at, ws.ramp_days from warmup_status ws
     where ws.tenant_id = ${tenantId} and ws.email_account_id = ${mailboxId}`.execute(db)
  const page = await sourcePage(
    db,
    source,
    ['explain-warmup-progress', tenantId, mailboxId, from, to],
    params,
  )
  const value = latest?.progress_percentage ?? null
  const recomputed = fresh?.progress ?? null
  const ws = status[0]
  const sourceCount = toCount(fresh?.n)
  const daysSent = days.reduce((sum, d) => sum + Number(d.sent), 0)
  return {
    subject: 'mailbox_warmup_progress',
    metric: 'warmup_progress_percentage',
    key: { email_account_id: mailboxId },
    from,
    to,
    value,
    formula: FORMULA,
    inputs: {
      last_warmup_day: latest?.day ?? null,
      warmup_status: ws?.status ?? null,
      started_at: ws ? new Date(ws.started_at).toISOString() : null,
      ramp_days: ws?.ramp_days ?? null,
    },
    days,
    sample: null,
    sql: {
      figure: shown(db, figure),
      source: shown(db, source),
      recompute: shown(db, recompute),
      aggregator:
        'recomputeMailboxAnalytics (@penguinmails/aggregator) writes progress_percentage on each warmup_analytics day row from warmup_status',
    },
    source_count: sourceCount,
    recomputed,
    recomputed_matches: value === recomputed && (latest?.day ?? null) === (fresh?.day ?? null),
    reconciliation: [
      {
        check: 'days_sum_to_range',
        description: `the warmup_analytics day rows' sent of [${from}, ${to}) add up to the mailbox's warmup emails of the range, counted now`,
        parts: days.map((d) => ({ label: d.day as string, value: Number(d.sent) })),
        parts_total: daysSent,
        total: sourceCount,
        holds: daysSent === sourceCount,
      },
    ],
    emails: { rows: page.rows.map(toSourceEmail), nextCursor: page.nextCursor },
  }
}
