import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { COUNT_COLUMNS, type CountColumn } from './email-metrics.js'
import { countPredicate, countWords } from './explain-cells.js'
import type { FigureExplanation, FigureValue } from './explain-figure.js'
import { shown, sourcePage, sourceStatement, toSourceEmail } from './explain-metric.js'
import type { ReconciliationCheck } from './explain-reconciliation.js'
import { toCount } from './numeric-values.js'
import type { PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'

/** The columns of a lead_analytics row (a /v1/campaigns/{id}/leads row) that explainLead explains. */
export const LEAD_METRICS = [...COUNT_COLUMNS, 'status', 'last_sent_at'] as const
export type LeadMetric = (typeof LEAD_METRICS)[number]

export interface ExplainLeadParams extends PageRequest {
  tenantId: string
  campaignId: string
  leadId: string
  metric: LeadMetric
}

const LEAD_EMAILS =
  'the lead’s emails in the campaign (campaign_id and lead_id, is_warmup = false) with sent_at IS NOT NULL, over all days'
const STATUS = `status = the first that applies of: complained (spam_complaints > 0), unsubscribed (unsubscribed > 0), bounced (bounced > 0), replied (replied > 0), completed (one of them is of the campaign’s final step: the highest step_number among its steps, sent or not), else contacted; the counts over ${LEAD_EMAILS}.`
const UTC_INSTANT = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`

/**
 * Explains one figure of a lead_analytics row (a lead of a campaign, over all days): the count,
 * status or last send as /v1/campaigns/{id}/leads returns it, its source emails, and the figure
 * recomputed from them. Null when the campaign has no row for that lead in this tenant.
 */
export async function explainLead(
  db: Kysely<DB>,
  params: ExplainLeadParams,
): Promise<FigureExplanation | null> {
  const { tenantId, campaignId, leadId, metric } = params
  if (!(LEAD_METRICS as readonly string[]).includes(metric))
    throw new InvalidQueryError('metric', `must be one of ${LEAD_METRICS.join(', ')}`)
  const column =
    metric === 'last_sent_at'
      ? sql`to_char(la.last_sent_at at time zone 'UTC', ${sql.raw(UTC_INSTANT)})`
      : sql.ref(`la.${metric}`)
  const figure = sql<{ value: string | number }>`select ${column} as value from lead_analytics la
     where la.tenant_id = ${tenantId} and la.campaign_id = ${campaignId} and la.lead_id = ${leadId}`
  const row = (await figure.execute(db)).rows[0]
  if (row === undefined) return null
  const isCount = (COUNT_COLUMNS as readonly string[]).includes(metric)
  const value: FigureValue = isCount ? toCount(row.value) : String(row.value)

  const lead = [
    sql<boolean>`e.campaign_id = ${campaignId}`,
    sql<boolean>`e.lead_id = ${leadId}`,
    sql<boolean>`not e.is_warmup`,
  ]
  const all = sourceStatement({ tenantId }, { formula: '', where: lead })
  const listed = isCount
    ? sourceStatement(
        { tenantId },
        { formula: '', where: [...lead, countPredicate(metric as CountColumn)] },
      )
    : all
  const recompute = sql<Record<string, FigureValue>>`
    select g.*, case when g.spam_complaints > 0 then 'complained'
                     when g.unsubscribed > 0 then 'unsubscribed'
                     when g.bounced > 0 then 'bounced'
                     when g.replied > 0 then 'replied'
                     when g.completed then 'completed'
                     else 'contacted' end as status
      from (select count(*)::int as sent,
                   count(*) filter (where s.status = 'delivered')::int as delivered,
                   count(s.opened_at)::int as opened_tracked,
                   count(s.clicked_at)::int as clicked_tracked,
                   count(s.replied_at)::int as replied,
                   count(s.bounce_type)::int as bounced,
                   count(s.unsubscribed_at)::int as unsubscribed,
                   count(s.complaint_at)::int as spam_complaints,
                   to_char(max(s.sent_at) at time zone 'UTC', ${sql.raw(UTC_INSTANT)}) as last_sent_at,
                   coalesce(bool_or(s.sequence_step_id = (
                     select st.id from campaign_sequence_steps st
                      where st.tenant_id = ${tenantId} and st.campaign_id = ${campaignId}
                      order by st.step_number desc limit 1)), false) as completed
              from (${all}) s) g`
  const fresh = (await recompute.execute(db)).rows[0] as Record<string, FigureValue>
  const recomputed = fresh[metric] ?? null
  const counted = await sql<{ n: string }>`select count(*) as n from (${listed}) s`.execute(db)
  const sourceCount = toCount(counted.rows[0]?.n)
  const page = await sourcePage(
    db,
    listed,
    ['explain-lead', tenantId, campaignId, leadId, metric],
    params,
  )
  const reconciliation: ReconciliationCheck[] = []
  if (isCount) {
    reconciliation.push({
      check: 'source_matches_figure',
      description:
        'the source emails behind the figure, counted now, equal the figure (differs only while changes wait for the aggregator)',
      parts: [],
      parts_total: sourceCount,
      total: value as number,
      holds: sourceCount === value,
    })
    const sums = await sql<{ leads: string; leadless: string; campaign: string }>`
      select (select coalesce(sum(${sql.ref(`la.${metric}`)}), 0) from lead_analytics la
               where la.tenant_id = ${tenantId} and la.campaign_id = ${campaignId}) as leads,
             (select count(*) from emails e
               where e.tenant_id = ${tenantId} and e.campaign_id = ${campaignId} and not e.is_warmup
                 and e.sent_at is not null and e.lead_id is null
                 and ${countPredicate(metric as CountColumn)}) as leadless,
             (select coalesce(sum(${sql.ref(`c.${metric}`)}), 0) from campaign_analytics c
               where c.tenant_id = ${tenantId} and c.campaign_id = ${campaignId}) as campaign`.execute(
      db,
    )
    const s = sums.rows[0]
    const parts = [
      { label: 'lead_analytics rows of the campaign', value: toCount(s?.leads) },
      { label: 'campaign emails without a lead (source)', value: toCount(s?.leadless) },
    ]
    const partsTotal = parts.reduce((sum, p) => sum + p.value, 0)
    reconciliation.push({
      check: 'leads_sum_to_campaign',
      description: `the campaign's lead rows' ${metric}, plus its emails without a lead, add up to its campaign_analytics rows over all days`,
      parts,
      parts_total: partsTotal,
      total: toCount(s?.campaign),
      holds: partsTotal === toCount(s?.campaign),
    })
  }
  const formula = isCount
    ? `${metric} = the number of ${LEAD_EMAILS}, and of them ${countWords(metric as CountColumn)}.`
    : metric === 'status'
      ? STATUS
      : `last_sent_at = the latest sent_at of ${LEAD_EMAILS}, ISO 8601 in UTC to the microsecond.`
  const { last_sent_at: _, ...inputs } = fresh
  return {
    subject: 'lead',
    metric,
    key: { campaign_id: campaignId, lead_id: leadId },
    from: null,
    to: null,
    value,
    formula,
    inputs: metric === 'status' ? inputs : {},
    days: [],
    sample: null,
    sql: {
      figure: shown(db, figure),
      source: shown(db, listed),
      recompute: shown(db, recompute),
      aggregator:
        'recomputeLeadAnalytics (@penguinmails/aggregator): one set-based statement per scope groups the campaign emails by (lead, campaign)',
    },
    source_count: sourceCount,
    recomputed,
    recomputed_matches: value === recomputed,
    reconciliation,
    emails: { rows: page.rows.map(toSourceEmail), nextCursor: page.nextCursor },
  }
}
