import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { countPredicate, countWords, sourceSet } from './explain-cells.js'
import {
  explainMetric,
  type MetricExplanation,
  type ShownStatement,
  type SourceEmailRow,
  shown,
  sourcePage,
  sourceStatement,
  toSourceEmail,
} from './explain-metric.js'
import { toDecimal } from './numeric-values.js'
import type { Page, PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'
import {
  MIN_SAMPLE_SIZE,
  percentOf,
  RATE_DEFINITIONS,
  type RateColumn,
} from './rate-uncertainty.js'
import { wilsonInterval, Z_95 } from './wilson-interval.js'

/** The tables whose rows carry the five rates in an API answer (performance, trend, funnel, mailboxes). */
export const RATE_TABLES = [
  'campaign_analytics',
  'sequence_step_analytics',
  'mailbox_analytics',
] as const
export type RateTable = (typeof RATE_TABLES)[number]

export interface ExplainRateParams extends PageRequest {
  tenantId: string
  table: RateTable
  rate: RateColumn
  /** the campaign, step or mailbox id */
  key: string
  from: string
  to: string
}

/** A source email of a rate, marked with the sets it belongs to. */
export interface RateSourceEmailRow extends SourceEmailRow {
  /** counted by the numerator */
  in_numerator: boolean
  /** counted by the denominator */
  in_denominator: boolean
}

export type CountExplanation = Omit<MetricExplanation, 'emails'>

/** The funnel's two shares: a step's sends against the first step's, or the previous step's. */
export const FUNNEL_SHARES = ['share_of_first_step', 'conversion_from_previous'] as const
export type FunnelShare = (typeof FUNNEL_SHARES)[number]

export interface RateExplanation {
  table: RateTable
  rate: RateColumn | FunnelShare
  key: Record<string, string>
  from: string
  to: string
  /** the rate as the API returns it: round(100 · numerator / denominator, 2), null on a zero denominator */
  value: number | null
  formula: string
  /** each count explained on its own: value, formula, SQL, reconciliation */
  numerator: CountExplanation
  /** null: there is no denominator (the first step's conversion_from_previous) */
  denominator: CountExplanation | null
  /** the 95% Wilson score interval, percent with 2 decimals; null with the rate, and for the funnel shares */
  interval: { lower: number; upper: number; z: number } | null
  /** the denominator is below minimum_sample; null for the funnel shares, which are not proportions of one sample */
  insufficient_sample: boolean | null
  minimum_sample: number
  sql: {
    /** the rate over the two figures, as the API's queries compute it */
    figure: ShownStatement
    /** selects the emails of the numerator and of the denominator, each marked */
    source: ShownStatement
  }
  /** one keyset page of the emails in the numerator or the denominator, in id order */
  emails: Page<RateSourceEmailRow>
}

export const strip = (e: MetricExplanation): CountExplanation => {
  const { emails: _, ...rest } = e
  return rest
}

/**
 * Explains one of the five rates of a campaign, step or mailbox over [from, to): its value as the
 * API computes it, its numerator and denominator explained as counts (formula, SQL, source count,
 * reconciliation), the Wilson interval and the insufficient_sample flag, and the source emails of
 * both, each marked in_numerator / in_denominator. Null when the tenant has no such entity.
 */
export async function explainRate(
  db: Kysely<DB>,
  params: ExplainRateParams,
): Promise<RateExplanation | null> {
  const { tenantId, table, rate, key, from, to } = params
  if (!(RATE_TABLES as readonly string[]).includes(table))
    throw new InvalidQueryError('table', `rates are explained for ${RATE_TABLES.join(', ')}`)
  if (!Object.hasOwn(RATE_DEFINITIONS, rate))
    throw new InvalidQueryError(
      'metric',
      `must be one of ${Object.keys(RATE_DEFINITIONS).join(', ')}`,
    )
  const definition = RATE_DEFINITIONS[rate]
  const cell = { tenantId, table, key, from, to, limit: 1 }
  const numerator = await explainMetric(db, { ...cell, metric: definition.numerator })
  if (numerator === null) return null
  const denominator = (await explainMetric(db, {
    ...cell,
    metric: definition.denominator,
  })) as MetricExplanation
  const figure = sql<{
    rate: string | null
  }>`select round(100.0 * cast(${numerator.value} as bigint)
       / nullif(cast(${denominator.value} as bigint), 0), 2) as rate`
  const value = toDecimal((await figure.execute(db)).rows[0]?.rate)
  const num = countPredicate(definition.numerator)
  const den = countPredicate(definition.denominator)
  // the set's own condition (entity, campaign or warmup emails) is sent's: every email of the set
  const base = sourceSet(table, 'sent', tenantId, key)
  const source = sourceStatement(
    { tenantId, from: numerator.from, to: numerator.to },
    {
      formula: '',
      where: [...base.where, sql<boolean>`(${num} or ${den})`],
      columns: [sql`(${num}) as in_numerator`, sql`(${den}) as in_denominator`],
    },
  )
  const page = await sourcePage(
    db,
    source,
    ['explain-rate', tenantId, table, key, rate, numerator.from, numerator.to],
    params,
  )
  const interval = wilsonInterval(numerator.value, denominator.value)
  return {
    table,
    rate,
    key: numerator.key,
    from: numerator.from,
    to: numerator.to,
    value,
    formula: `${rate} = 100 · ${definition.numerator} / ${definition.denominator}, in percent rounded to 2 decimals (half away from zero), null when ${definition.denominator} is 0; over a range, of the counts summed over its days, never a mean of daily rates. Numerator: ${definition.numerator}, ${countWords(definition.numerator)}; denominator: ${definition.denominator}, ${countWords(definition.denominator)} (each explained below). Its 95% Wilson score interval (z = ${Z_95}) says how sure it is; insufficient_sample when ${definition.denominator} < ${MIN_SAMPLE_SIZE}.`,
    numerator: strip(numerator),
    denominator: strip(denominator),
    interval: interval && {
      lower: percentOf(interval.lower),
      upper: percentOf(interval.upper),
      z: Z_95,
    },
    insufficient_sample: denominator.value < MIN_SAMPLE_SIZE,
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
