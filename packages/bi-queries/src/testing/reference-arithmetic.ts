// Exact decimal arithmetic for the reference computations: PostgreSQL's round(numeric, 2) rounds
// half away from zero, which floating point cannot reproduce on every input.

/** round(numerator / denominator, 2) as PostgreSQL's numeric gives it; null on a zero denominator. */
export function roundRatio(numerator: bigint, denominator: bigint): number | null {
  if (denominator === 0n) return null
  const negative = numerator < 0n !== denominator < 0n
  const n = (numerator < 0n ? -numerator : numerator) * 100n
  const d = denominator < 0n ? -denominator : denominator
  let q = n / d
  if ((n % d) * 2n >= d) q += 1n
  const value = Number(q) / 100
  return negative && q !== 0n ? -value : value
}

/** The contract's rate: 100·x / y rounded to 2 decimals, null when y = 0. */
export function rate(x: number, y: number): number | null {
  return roundRatio(100n * BigInt(x), BigInt(y))
}

/** round(avg(values), 2) over integers. */
export function average(values: readonly number[]): number | null {
  return roundRatio(
    values.reduce((a, b) => a + BigInt(b), 0n),
    BigInt(values.length),
  )
}

/** round(avg(100·a_i / b_i), 2) exactly, as a sum of fractions. */
export function averageOfRates(pairs: readonly (readonly [number, number])[]): number | null {
  const terms = pairs.filter(([, b]) => b !== 0)
  if (terms.length === 0) return null
  let num = 0n
  let den = 1n
  for (const [a, b] of terms) {
    num = num * BigInt(b) + 100n * BigInt(a) * den
    den *= BigInt(b)
  }
  return roundRatio(num, den * BigInt(terms.length))
}

/** SQL rank(): 1 + the number of values ranked strictly before this one. */
export function ranks<T>(items: readonly T[], before: (a: T, b: T) => boolean): number[] {
  return items.map((item) => 1 + items.filter((other) => before(other, item)).length)
}
