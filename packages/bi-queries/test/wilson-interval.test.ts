import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  MIN_SAMPLE_SIZE,
  percentOf,
  rateUncertainty,
  wilsonInterval,
  wilsonLowerSql,
} from '../src/index.js'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'bi_wilson' })
})

afterAll(async () => {
  await database?.drop()
})

describe('wilsonInterval', () => {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I,
  // method 3 (score interval without continuity correction), to 4 decimals
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ])('%i of %i gives [%f, %f] as published', (x, n, lower, upper) => {
    const interval = wilsonInterval(x, n)
    expect(interval?.lower).toBeCloseTo(lower, 4)
    expect(interval?.upper).toBeCloseTo(upper, 4)
  })

  it('is honest about tiny samples and exact at the edges', () => {
    expect(wilsonInterval(1, 1)).toEqual({ lower: expect.closeTo(0.2065, 4), upper: 1 })
    expect(wilsonInterval(0, 1)).toEqual({ lower: 0, upper: expect.closeTo(0.7935, 4) })
    expect(wilsonInterval(5, 10)?.lower).toBeCloseTo(0.2366, 4)
    expect(wilsonInterval(5, 10)?.upper).toBeCloseTo(0.7634, 4)
    expect(wilsonInterval(0, 0)).toBeNull()
    // a count above its denominator (opens recorded on undelivered emails) has no interval
    expect(wilsonInterval(3, 2)).toBeNull()
    expect(() => wilsonInterval(1.5, 2)).toThrow('whole counts')
  })

  it('in SQL gives bit-identical lower bounds, so SQL ranks agree with printed bounds', async () => {
    const pairs: [number, number][] = []
    for (const n of [1, 2, 3, 7, 10, 29, 30, 31, 100, 263, 1000, 12345])
      for (const x of new Set([0, 1, 2, Math.floor(n / 3), Math.floor(n / 2), n - 1, n]))
        if (x >= 0 && x <= n) pairs.push([x, n])
    const { rows } = await sql<{ x: number; n: number; lower: number | null }>`
      select v.x, v.n, ${wilsonLowerSql(sql`v.x`, sql`v.n`)} as lower
        from jsonb_to_recordset(${JSON.stringify(pairs.map(([x, n]) => ({ x, n })))}::jsonb)
             as v (x int, n int)`.execute(database.connect().db)
    expect(rows).toHaveLength(pairs.length)
    for (const r of rows) expect(r.lower).toBe(wilsonInterval(r.x, r.n)?.lower)
    const { rows: none } = await sql<{ lower: number | null }>`
      select ${wilsonLowerSql(sql`0`, sql`0`)} as lower`.execute(database.connect().db)
    expect(none[0]?.lower).toBeNull()
    // more successes than trials: NULL, not a square root of a negative number
    const { rows: over } = await sql<{ lower: number | null }>`
      select ${wilsonLowerSql(sql`3`, sql`2`)} as lower`.execute(database.connect().db)
    expect(over[0]?.lower).toBeNull()
  })
})

describe('rateUncertainty', () => {
  it('bounds each rate over its contract denominator and flags samples below the minimum', () => {
    const u = rateUncertainty({
      sent: 263,
      delivered: 29,
      opened_tracked: 1,
      clicked_tracked: 0,
      replied: 29,
      bounced: 81,
      unsubscribed: 0,
      spam_complaints: 0,
    })
    expect(MIN_SAMPLE_SIZE).toBe(30)
    // bounce rate over sent: 81 of 263
    expect(u.bounce_rate_lower).toBe(25.53)
    expect(u.bounce_rate_upper).toBe(36.62)
    expect(u.bounce_rate_insufficient_sample).toBe(false)
    expect(u.delivery_rate_insufficient_sample).toBe(false)
    // open rate over delivered: 1 of 29
    expect(u.open_rate_lower).toBe(0.61)
    expect(u.open_rate_upper).toBe(17.18)
    expect(u.open_rate_insufficient_sample).toBe(true)
    expect(u.click_rate_lower).toBe(0)
    expect(u.reply_rate_upper).toBe(100)
    expect(u.reply_rate_insufficient_sample).toBe(true)
    expect(percentOf(0.123456)).toBe(12.35)
  })

  it('gives null bounds with a null rate (zero denominator), still flagged', () => {
    const u = rateUncertainty({
      sent: 0,
      delivered: 0,
      opened_tracked: 0,
      clicked_tracked: 0,
      replied: 0,
      bounced: 0,
      unsubscribed: 0,
      spam_complaints: 0,
    })
    expect(u.open_rate_lower).toBeNull()
    expect(u.open_rate_upper).toBeNull()
    expect(u.open_rate_insufficient_sample).toBe(true)
  })
})
