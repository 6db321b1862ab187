import type { CountColumn, EmailCounts } from './email-metrics.js'
import { RATE_COLUMNS } from './email-metrics.js'
import { wilsonInterval } from './wilson-interval.js'

/**
 * A rate whose denominator is below this many emails is flagged `insufficient_sample`: at 30 the
 * 95% interval of a 50% rate is still about ±17 percentage points wide.
 */
export const MIN_SAMPLE_SIZE = 30

export type RateColumn = (typeof RATE_COLUMNS)[number]

/** Each rate's numerator and denominator, as the contract defines them (§2, Rates). */
export const RATE_DEFINITIONS: Record<
  RateColumn,
  { numerator: CountColumn; denominator: CountColumn }
> = {
  delivery_rate: { numerator: 'delivered', denominator: 'sent' },
  open_rate: { numerator: 'opened_tracked', denominator: 'delivered' },
  click_rate: { numerator: 'clicked_tracked', denominator: 'delivered' },
  reply_rate: { numerator: 'replied', denominator: 'delivered' },
  bounce_rate: { numerator: 'bounced', denominator: 'sent' },
}

/**
 * Per rate: the 95% Wilson interval in percent with two decimals (null with the rate, when its
 * denominator is 0) and whether its denominator is below MIN_SAMPLE_SIZE.
 */
export type RateUncertainty = {
  [K in RateColumn as `${K}_lower`]: number | null
} & {
  [K in RateColumn as `${K}_upper`]: number | null
} & {
  [K in RateColumn as `${K}_insufficient_sample`]: boolean
}

export const UNCERTAINTY_COLUMNS = RATE_COLUMNS.flatMap(
  (r) => [`${r}_lower`, `${r}_upper`, `${r}_insufficient_sample`] as const,
)

/** A fraction of 1 as a percentage with two decimals. */
export function percentOf(fraction: number): number {
  return Math.round(fraction * 10_000) / 100
}

/** The uncertainty of the five rates over these counts. */
export function rateUncertainty(counts: EmailCounts): RateUncertainty {
  const out: Record<string, number | boolean | null> = {}
  for (const rate of RATE_COLUMNS) {
    const { numerator, denominator } = RATE_DEFINITIONS[rate]
    const interval = wilsonInterval(counts[numerator], counts[denominator])
    out[`${rate}_lower`] = interval && percentOf(interval.lower)
    out[`${rate}_upper`] = interval && percentOf(interval.upper)
    out[`${rate}_insufficient_sample`] = counts[denominator] < MIN_SAMPLE_SIZE
  }
  return out as RateUncertainty
}
