import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { checkDateRange, formatDay, parseDay } from './date-range.js'
import type { FigureExplanation } from './explain-figure.js'
import { shown, sourcePage, sourceStatement, toSourceEmail } from './explain-metric.js'
import { toCount } from './numeric-values.js'
import type { PageRequest } from './page.js'
import { MIN_SAMPLE_SIZE } from './rate-uncertainty.js'

export interface ExplainMailboxHealthParams extends PageRequest {
  tenantId: string
  mailboxId: string
  /** the range of the mailboxes list: its health score is that of the last active day in it */
  from: string
  to: string
}

const FORMULA = `health_score = H of the mailbox's last day with activity in [from, to) (last_active_day d), over all its emails, campaign and warmup, sent on the 7 days d−6 … d in the tenant's time zone: H = 100 − min(50, ⌊600·b/n⌋) − min(50, ⌊10000·c/n⌋), with n the emails sent, b those with bounce_type IS NOT NULL and c those with complaint_at IS NOT NULL; 100 when n = 0. Null without activity in the range. n is health_sample_sent; below ${MIN_SAMPLE_SIZE} the score is too little data to judge (health_insufficient_sample).`

/**
 * Explains the health score /v1/mailboxes returns for a mailbox over [from, to): the day it is
 * taken from, the 7 days of emails behind it (all listed), n, b and c, the score recomputed from
 * those emails, and its sample flag. Null when the tenant has no such mailbox.
 */
export async function explainMailboxHealth(
  db: Kysely<DB>,
  params: ExplainMailboxHealthParams,
): Promise<FigureExplanation | null> {
  checkDateRange(params)
  const { tenantId, mailboxId, from, to } = params
  const exists = await sql`select 1 from email_accounts
     where tenant_id = ${tenantId} and id = ${mailboxId}`.execute(db)
  if (exists.rows.length === 0) return null
  // as mailboxes() reads it: the last row in the range, and the 7 days of current_volume up to it
  const figure = sql<{ day: string; health_score: number; sample: string }>`
    select m.day::text as day, m.health_score,
           (select sum(h.current_volume) from mailbox_analytics h
             where h.tenant_id = m.tenant_id and h.email_account_id = m.email_account_id
               and h.day > m.day - 7 and h.day <= m.day) as sample
      from mailbox_analytics m
     where m.tenant_id = ${tenantId} and m.email_account_id = ${mailboxId}
       and m.day >= ${from} and m.day < ${to}
     order by m.day desc limit 1`
  const latest = (await figure.execute(db)).rows[0]
  const day = latest?.day ?? null
  const windowFrom = day === null ? from : formatDay((parseDay(day) as number) - 6)
  const windowTo = day === null ? from : formatDay((parseDay(day) as number) + 1)
  const source = sourceStatement(
    { tenantId, from: windowFrom, to: windowTo },
    { formula: '', where: [sql<boolean>`e.email_account_id = ${mailboxId}`] },
  )
  const recompute = sql<{ n: string; b: string; c: string; h: number }>`
    select count(*) as n, count(s.bounce_type) as b, count(s.complaint_at) as c,
           case when count(*) = 0 then 100
                else (100 - least(50, (600 * count(s.bounce_type)) / count(*))
                          - least(50, (10000 * count(s.complaint_at)) / count(*)))::int end as h
      from (${source}) s`
  const counted = (await recompute.execute(db)).rows[0]
  const [n, b, c] = [toCount(counted?.n), toCount(counted?.b), toCount(counted?.c)]
  const recomputed = day === null ? null : Number(counted?.h)
  const { rows: dayRows } = await sql<{
    day: string
    current_volume: number
    health_score: number
  }>`
    select m.day::text as day, m.current_volume, m.health_score from mailbox_analytics m
     where m.tenant_id = ${tenantId} and m.email_account_id = ${mailboxId}
       and m.day >= ${windowFrom} and m.day < ${windowTo}
     order by m.day`.execute(db)
  const page = await sourcePage(
    db,
    source,
    ['explain-health', tenantId, mailboxId, from, to],
    params,
  )
  const value = latest === undefined ? null : latest.health_score
  const size = latest === undefined ? null : toCount(latest.sample)
  const daysTotal = dayRows.reduce((sum, r) => sum + r.current_volume, 0)
  return {
    subject: 'mailbox_health',
    metric: 'health_score',
    key: { email_account_id: mailboxId },
    from,
    to,
    value,
    formula: FORMULA,
    inputs: {
      last_active_day: day,
      window_from: day === null ? null : windowFrom,
      window_to: day === null ? null : windowTo,
      sent: n,
      bounced: b,
      spam_complaints: c,
      bounce_penalty: n === 0 ? 0 : Math.min(50, Math.floor((600 * b) / n)),
      complaint_penalty: n === 0 ? 0 : Math.min(50, Math.floor((10000 * c) / n)),
    },
    days: dayRows.map((r) => ({ ...r })),
    sample:
      size === null
        ? null
        : { size, minimum: MIN_SAMPLE_SIZE, insufficient: size < MIN_SAMPLE_SIZE },
    sql: {
      figure: shown(db, figure),
      source: shown(db, source),
      recompute: shown(db, recompute),
      aggregator:
        'recomputeMailboxAnalytics (@penguinmails/aggregator): a 7-day window (range between 6 days preceding and current row) over the per-day counts of all the mailbox’s emails',
    },
    source_count: n,
    recomputed,
    recomputed_matches: value === recomputed,
    reconciliation:
      day === null
        ? []
        : [
            {
              check: 'source_matches_figure',
              description:
                'the health score recomputed now from the listed emails equals the stored one',
              parts: [],
              parts_total: recomputed as number,
              total: value as number,
              holds: recomputed === value,
            },
            {
              check: 'days_sum_to_range',
              description: `the current_volume of the mailbox's day rows of [${windowFrom}, ${windowTo}) adds up to the emails behind the score (n, counted now)`,
              parts: dayRows.map((r) => ({ label: r.day, value: r.current_volume })),
              parts_total: daysTotal,
              total: n,
              holds: daysTotal === n,
            },
          ],
    emails: { rows: page.rows.map(toSourceEmail), nextCursor: page.nextCursor },
  }
}
