import { formatDay, parseDay } from './date-range.js'
import { normalCdf, studentTQuantile } from './forecast-statistics.js'

export interface DailyValue {
  /** YYYY-MM-DD, a local day of the tenant */
  day: string
  value: number
}

export interface ProjectionInput {
  /** the estimation window: consecutive complete days, days without sends as 0 */
  history: readonly DailyValue[]
  /** what the month has counted so far */
  monthToDate: number
  /** the days still to come in the month, in order */
  remaining: readonly string[]
  /** of the prediction interval; default 0.95 */
  level?: number
}

export interface CumulativeProjection {
  day: string
  /** month-to-date plus the expected sends up to and including this day */
  expected: number
  lower: number | null
  upper: number | null
}

export interface Projection {
  projected: number
  /** null when the window has too few days to estimate a variance */
  lower: number | null
  upper: number | null
  /** standard deviation of the month-end total */
  sd: number | null
  /** the expected daily rates used, per day class */
  rates: { weekday: number; weekend: number }
  /** each remaining day's cumulative expectation and interval */
  cumulative: CumulativeProjection[]
}

const isWeekend = (day: string) => {
  const n = parseDay(day) as number
  const weekday = (((n + 4) % 7) + 7) % 7
  return weekday === 0 || weekday === 6
}

interface DayClass {
  n: number
  mean: number
  variance: number
}

function describe(values: number[]): DayClass {
  const n = values.length
  const mean = n === 0 ? 0 : values.reduce((a, b) => a + b, 0) / n
  const variance = n < 2 ? 0 : values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)
  return { n, mean, variance }
}

/**
 * Month-end projection from daily counts, weekday-aware: weekdays (Mon–Fri) and weekend days
 * each get their own mean daily rate and variance from the window; the remaining days are
 * projected at their class's rate. The prediction interval of the remaining total T is
 * E[T] ± t(level, n − k) · sd, with Var[T] = Σ s²·(r + r²/n) per class — r future days of
 * independent daily noise plus the uncertainty of the estimated mean — k the classes estimated.
 * A class seen on fewer than 2 days falls back to one pooled rate for all days. The lower bound
 * never goes below what the month already counted.
 */
export function projectMonthEnd(input: ProjectionInput): Projection {
  const level = input.level ?? 0.95
  const values = input.history.map((d) => d.value)
  const weekdays = describe(input.history.filter((d) => !isWeekend(d.day)).map((d) => d.value))
  const weekends = describe(input.history.filter((d) => isWeekend(d.day)).map((d) => d.value))
  const split = weekdays.n >= 2 && weekends.n >= 2
  const pooled = describe(values)
  const classOf = (day: string) => (split ? (isWeekend(day) ? weekends : weekdays) : pooled)
  const df = pooled.n - (split ? 2 : 1)
  const t = df >= 1 ? studentTQuantile(1 - (1 - level) / 2, df) : null
  const future = new Map<DayClass, number>()
  const cumulative: CumulativeProjection[] = []
  let expected = input.monthToDate
  const spread = () => {
    let variance = 0
    for (const [c, r] of future) variance += c.n === 0 ? 0 : c.variance * (r + (r * r) / c.n)
    return Math.sqrt(variance)
  }
  for (const day of input.remaining) {
    const c = classOf(day)
    future.set(c, (future.get(c) ?? 0) + 1)
    expected += c.mean
    const sd = spread()
    cumulative.push({
      day,
      expected,
      lower: t === null ? null : Math.max(input.monthToDate, expected - t * sd),
      upper: t === null ? null : expected + t * sd,
    })
  }
  const sd = t === null ? null : spread()
  return {
    projected: Math.round(expected),
    lower:
      t === null || sd === null ? null : Math.floor(Math.max(input.monthToDate, expected - t * sd)),
    upper: t === null || sd === null ? null : Math.ceil(expected + t * sd),
    sd,
    rates: {
      weekday: split ? weekdays.mean : pooled.mean,
      weekend: split ? weekends.mean : pooled.mean,
    },
    cumulative,
  }
}

export interface LimitCrossing {
  limit: number
  /** the day the month-to-date count reached the limit, when it already has */
  reached_on: string | null
  /** the first day the expected cumulative count reaches the limit; null: not this month */
  projected_crossing: string | null
  /** the first day the interval's upper bound reaches it (the earliest plausible crossing) */
  earliest_crossing: string | null
  /** the first day the interval's lower bound reaches it (by then it is very likely crossed) */
  latest_crossing: string | null
  /** P(month-end total ≥ limit) under the normal approximation; 0 or 1 without an interval */
  probability_exceeded: number
}

/** Where a projection crosses a plan limit, given the month-to-date days and the projection. */
export function limitCrossing(
  limit: number,
  monthDays: readonly DailyValue[],
  projection: Projection,
): LimitCrossing {
  let total = 0
  let reachedOn: string | null = null
  for (const d of monthDays) {
    total += d.value
    if (reachedOn === null && total >= limit) reachedOn = d.day
  }
  const first = (pick: (c: CumulativeProjection) => number | null) =>
    reachedOn ?? projection.cumulative.find((c) => (pick(c) ?? -1) >= limit)?.day ?? null
  const monthEnd = projection.cumulative.at(-1)?.expected ?? total
  const probability =
    reachedOn !== null
      ? 1
      : projection.sd === null || projection.sd === 0
        ? monthEnd >= limit
          ? 1
          : 0
        : 1 - normalCdf((limit - monthEnd) / projection.sd)
  return {
    limit,
    reached_on: reachedOn,
    projected_crossing: first((c) => c.expected),
    earliest_crossing: first((c) => c.upper),
    latest_crossing: first((c) => c.lower),
    probability_exceeded: Math.round(probability * 1000) / 1000,
  }
}

/** The days [from, to) as YYYY-MM-DD strings. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = []
  for (let n = parseDay(from) as number; n < (parseDay(to) as number); n++) out.push(formatDay(n))
  return out
}
