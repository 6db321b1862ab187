import { type RawBuilder, sql } from 'kysely'

/** z of a two-sided 95% interval: the 0.975 quantile of the standard normal distribution. */
export const Z_95 = 1.959963984540054

/** A proportion's interval as fractions of 1. */
export interface Interval {
  lower: number
  upper: number
}

/**
 * The Wilson score interval of `successes` out of `trials` (null when trials is 0). Unlike the
 * normal approximation it stays inside [0, 1] and is honest about small samples: 1 of 1 gives
 * [0.2065, 1], not [1, 1]. Null too when the count exceeds its denominator (an open recorded on
 * an email that was not delivered): such a rate is not a proportion of one sample, and a read
 * must still answer (the contract: rates never raise an error).
 */
export function wilsonInterval(successes: number, trials: number, z = Z_95): Interval | null {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0)
    throw new RangeError(`wilsonInterval needs whole counts, got ${successes} of ${trials}`)
  if (trials === 0 || successes > trials) return null
  return {
    lower: successes === 0 ? 0 : wilsonLower(successes, trials, z),
    upper: successes === trials ? 1 : wilsonUpper(successes, trials, z),
  }
}

// The operations below are written in the same order as wilsonLowerSql, so that PostgreSQL's
// float8 and JavaScript's numbers (both IEEE doubles) give bit-identical lower bounds and the
// SQL ranks agree with the bounds the API prints.
function wilsonLower(x: number, n: number, z: number): number {
  const p = x / n
  const zz = z * z
  return (p + zz / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + zz / (4 * n * n))) / (1 + zz / n)
}

function wilsonUpper(x: number, n: number, z: number): number {
  const p = x / n
  const zz = z * z
  return (p + zz / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + zz / (4 * n * n))) / (1 + zz / n)
}

/**
 * The Wilson lower bound (a fraction of 1) as a float8 SQL expression; NULL when trials is 0 or
 * successes exceed trials (as wilsonInterval), and exactly 0 when there is no success. Rankings order by it so that 1 of 1 does not beat 90 of 100.
 */
export function wilsonLowerSql(
  successes: RawBuilder<unknown>,
  trials: RawBuilder<unknown>,
  z = Z_95,
): RawBuilder<number | null> {
  const x = sql`(${successes})::float8`
  const n = sql`nullif((${trials})::float8, 0)`
  const zz = sql`(${z}::float8 * ${z}::float8)`
  const p = sql`(${x} / ${n})`
  return sql<number | null>`case when ${x} > ${n} then null
    when ${x} = 0 and ${n} is not null then 0::float8
    else (${p} + ${zz} / (2 * ${n}) - ${z}::float8 * sqrt(${p} * (1 - ${p}) / ${n} + ${zz} / (4 * ${n} * ${n})))
         / (1 + ${zz} / ${n}) end`
}
