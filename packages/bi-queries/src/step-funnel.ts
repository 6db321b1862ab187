import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { campaignExists } from './campaign-lookup.js'
import { checkDateRange, type DateRange } from './date-range.js'
import {
  type EmailCounts,
  type EmailRates,
  percentage,
  type RawCounts,
  type RawRates,
  rateColumns,
  rowCounts,
  summedCounts,
  toCounts,
  toRates,
} from './email-metrics.js'
import { toCount, toDecimal } from './numeric-values.js'
import { type RateUncertainty, rateUncertainty } from './rate-uncertainty.js'

export interface StepFunnelParams extends DateRange {
  tenantId: string
  campaignId: string
}

export interface StepFunnelRow extends EmailCounts, EmailRates, RateUncertainty {
  sequence_step_id: string
  step_number: number
  /** sent by this step as a percentage of sent by the first step; null when that sent none */
  share_of_first_step: number | null
  /** sent by this step as a percentage of sent by the previous step; null for the first */
  conversion_from_previous: number | null
}

/**
 * The campaign's steps in order, each with its counts and rates over [from, to). Steps that sent
 * nothing in the range are listed with zeros; steps gone from the source but still in analytics
 * keep their analytics row. Null when the tenant has no such campaign.
 */
export async function stepFunnel(
  db: Kysely<DB>,
  params: StepFunnelParams,
): Promise<StepFunnelRow[] | null> {
  checkDateRange(params)
  const { tenantId, campaignId, from, to } = params
  if (!(await campaignExists(db, tenantId, campaignId))) return null
  const steps = db
    .selectFrom('campaign_sequence_steps')
    .select(['id', 'step_number'])
    .where('tenant_id', '=', tenantId)
    .where('campaign_id', '=', campaignId)
  const sums = db
    .selectFrom('sequence_step_analytics as ssa')
    .where('ssa.tenant_id', '=', tenantId)
    .where('ssa.campaign_id', '=', campaignId)
    .where('ssa.day', '>=', from)
    .where('ssa.day', '<', to)
    .groupBy('ssa.sequence_step_id')
    .select(['ssa.sequence_step_id', sql<number>`max(ssa.step_number)`.as('step_number')])
    .select(summedCounts('ssa'))
  const joined = db
    .selectFrom(steps.as('s'))
    .fullJoin(sums.as('a'), 'a.sequence_step_id', 's.id')
    .select([
      sql<string>`coalesce(s.id, a.sequence_step_id)`.as('sequence_step_id'),
      sql<number>`coalesce(s.step_number, a.step_number)`.as('step_number'),
      ...rowCounts('a'),
    ])
  const rows = await db
    .selectFrom(joined.as('f'))
    .selectAll('f')
    .select([
      ...rateColumns((c) => sql`${sql.ref(`f.${c}`)}`),
      percentage(
        sql`f.sent`,
        sql`first_value(f.sent) over (order by f.step_number, f.sequence_step_id)`,
      ).as('share_of_first_step'),
      percentage(
        sql`f.sent`,
        sql`lag(f.sent) over (order by f.step_number, f.sequence_step_id)`,
      ).as('conversion_from_previous'),
    ])
    .orderBy('f.step_number')
    .orderBy('f.sequence_step_id')
    .execute()
  return rows.map((r) => {
    const counts = toCounts(r as unknown as RawCounts)
    return {
      sequence_step_id: r.sequence_step_id,
      step_number: toCount(r.step_number),
      ...counts,
      ...toRates(r as unknown as RawRates),
      ...rateUncertainty(counts),
      share_of_first_step: toDecimal(r.share_of_first_step),
      conversion_from_previous: toDecimal(r.conversion_from_previous),
    }
  })
}
