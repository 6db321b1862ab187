/**
 * A small seeded PRNG (mulberry32). Every part of the data draws from its own stream, derived from
 * the seed and labels (a tenant's index, a campaign's index…), so that one part's draws never shift
 * another's: the same seed and options give the same rows in every run and on every database.
 */
export interface Random {
  /** uniform in [0, 1) */
  next(): number
  /** a whole number in [lo, hi] */
  int(lo: number, hi: number): number
  /** uniform in [lo, hi) */
  between(lo: number, hi: number): number
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
  /** exponentially distributed with this mean */
  exponential(mean: number): number
}

/** Labels of the independent streams. */
export const STREAM = {
  world: 1,
  campaign: 2,
  warmup: 3,
  leads: 4,
  edgeCases: 5,
  activity: 6,
} as const

function mix32(h: number): number {
  let x = h >>> 0
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

/** A stream for the seed (any safe integer) and labels (whole numbers). */
export function seededRandom(seed: number, ...labels: number[]): Random {
  let state = mix32(0x9e3779b9 ^ mix32(seed >>> 0))
  state = mix32(state ^ mix32(Math.floor(seed / 4294967296) >>> 0))
  for (const label of labels) state = mix32(state ^ mix32((label >>> 0) + 0x632be59b))
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    between: (lo, hi) => lo + next() * (hi - lo),
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[Math.floor(next() * items.length)] as T
    },
    exponential: (mean) => -mean * Math.log(1 - next()),
  }
}

/**
 * Splits `total` into whole parts proportional to `weights` (largest remainders), so the parts add
 * up to exactly `total`; a part whose weight is larger never gets less than one whose weight is
 * smaller, and of equal weights the later parts get the leftovers (a ramp that levels off never dips).
 */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0)
  if (total === 0 || sum === 0) return weights.map(() => 0)
  const exact = weights.map((w) => (w / sum) * total)
  const parts = exact.map(Math.floor)
  let left = total - parts.reduce((a, b) => a + b, 0)
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x), w: weights[i] as number }))
    .sort((a, b) => b.frac - a.frac || b.w - a.w || b.i - a.i)
  for (let k = 0; left > 0; k = (k + 1) % order.length) {
    const at = (order[k] as { i: number }).i
    parts[at] = (parts[at] as number) + 1
    left--
  }
  return parts
}
