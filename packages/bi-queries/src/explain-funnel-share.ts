import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import {
  explainMetric,
  shown,
  sourcePage,
  sourceStatement,
  toSourceEmail,
} from './explain-metric.js'
import { type FunnelShare, type RateExplanation, strip } from './explain-rate.js'
import type { PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'
import { MIN_SAMPLE_SIZE } from './rate-uncertainty.js'
import { stepFunnel } from './step-funnel.js'

export interface ExplainFunnelShareParams extends PageRequest {
  tenantId: string
  campaignId: string
  step: string
  share: FunnelShare
  from: string
  to: string
}

const ORDER =
  'the campaign’s steps ordered by step_number, then id (those of campaign_sequence_steps and those still in sequence_step_analytics)'

/**
 * Explains a funnel share of a step over [from, to): its sends as a percentage of the first step's
 * (share_of_first_step) or of the previous step's (conversion_from_previous), as the funnel
 * returns it; both counts explained, and the emails of both steps, marked. Null when the tenant has
 * no such campaign or the campaign no such step.
 */
export async function explainFunnelShare(
  db: Kysely<DB>,
  params: ExplainFunnelShareParams,
): Promise<RateExplanation | null> {
  const { tenantId, campaignId, step, share, from, to } = params
  if (share !== 'share_of_first_step' && share !== 'conversion_from_previous')
    throw new InvalidQueryError('rate', 'must be share_of_first_step or conversion_from_previous')
  const funnel = await stepFunnel(db, { tenantId, campaignId, from, to })
  const index = funnel?.findIndex((r) => r.sequence_step_id === step) ?? -1
  if (funnel === null || index < 0) return null
  const row = funnel[index]
  const reference = share === 'share_of_first_step' ? funnel[0] : funnel[index - 1]
  const cell = { tenantId, table: 'sequence_step_analytics' as const, from, to, limit: 1 }
  const numerator = await explainMetric(db, { ...cell, key: step, metric: 'sent' })
  // a step gone from the source keeps its analytics row but has no source emails to explain
  if (numerator === null) return null
  const denominator =
    reference === undefined
      ? null
      : await explainMetric(db, { ...cell, key: reference.sequence_step_id, metric: 'sent' })
  const figure = sql<{
    rate: string | null
  }>`select round(100.0 * cast(${numerator.value} as bigint)
       / nullif(cast(${denominator?.value ?? null} as bigint), 0), 2) as rate`
  const steps = [step, ...(reference ? [reference.sequence_step_id] : [])]
  const source = sourceStatement(
    { tenantId, from: numerator.from, to: numerator.to },
    {
      formula: '',
      where: [
        sql<boolean>`e.sequence_step_id = any(${steps}::text[])`,
        sql<boolean>`not e.is_warmup and e.campaign_id is not null`,
      ],
      columns: [
        sql`(e.sequence_step_id = ${step}) as in_numerator`,
        sql`(e.sequence_step_id = ${reference?.sequence_step_id ?? null}) is true as in_denominator`,
      ],
    },
  )
  const page = await sourcePage(
    db,
    source,
    ['explain-share', tenantId, campaignId, step, share, numerator.from, numerator.to],
    params,
  )
  const referenceWords =
    share === 'share_of_first_step' ? 'the first step’s sent' : 'the previous step’s sent'
  return {
    table: 'sequence_step_analytics',
    rate: share,
    key: numerator.key,
    from: numerator.from,
    to: numerator.to,
    // as the funnel returns it; recomputable from the two counts below (sql.figure)
    value: row === undefined ? null : row[share],
    formula: `${share} = 100 · sent / ${referenceWords}, in percent rounded to 2 decimals, null when that is 0${share === 'conversion_from_previous' ? ' or for the first step' : ''}; steps in ${ORDER}. Both are step sends of the same range, not the fate of one set of leads: not a proportion of one sample, so no Wilson interval and no sample flag.`,
    numerator: strip(numerator),
    denominator: denominator && strip(denominator),
    interval: null,
    insufficient_sample: null,
    minimum_sample: MIN_SAMPLE_SIZE,
    sql: { figure: shown(db, figure), source: shown(db, source) },
    emails: {
      rows: page.rows.map((r) => ({
        ...toSourceEmail(r),
        in_numerator: r.in_numerator as boolean,
        in_denominator: r.in_denominator as boolean,
      })),
      nextCursor: page.nextCursor,
    },
  }
}
