import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSourceData } from '../src/index.js'
import { count, rows } from './support/query.js'

// The rates of a 100,000-email run are those of real outreach, within tolerance.

let database: TestDatabase
let db: Kysely<unknown>
const INDEXES = `select indexname, indexdef from pg_indexes
  where tablename in ('emails', 'leads', 'subscriptions') order by indexname`
let indexesBefore: unknown[]

beforeAll(async () => {
  database = await createTestDatabase({ label: 'gen_rates' })
  db = database.connect().db as unknown as Kysely<unknown>
  indexesBefore = await rows(db, INDEXES)
  await generateSourceData(database.url(), { seed: 5, emails: 100_000, end: '2025-06-30' })
})

afterAll(async () => {
  await database?.drop()
})

describe('a 100,000-email run', () => {
  it('leaves the indexes it rebuilt after the load as the migrations made them', async () => {
    expect(indexesBefore).toHaveLength(8)
    expect(await rows(db, INDEXES)).toEqual(indexesBefore)
    expect(
      await count(
        db,
        `select count(*) as n from pg_index where indrelid = 'emails'::regclass and indisvalid and indisready`,
      ),
    ).toBe(5)
  })

  it('has exactly the emails asked for, about a fifth of them warmup emails', async () => {
    expect(await count(db, 'select count(*) as n from emails')).toBe(100_000)
    const warmup = await count(db, 'select count(*) as n from emails where is_warmup')
    expect(warmup).toBe(20_000)
  })

  it('delivers, bounces, opens, clicks, replies, unsubscribes and complains at realistic rates', async () => {
    const [r] = await rows<Record<string, number>>(
      db,
      `select count(*) filter (where status = 'delivered')::float / count(*) as delivered,
              count(bounce_type)::float / count(*) as bounced,
              count(opened_at)::float / count(*) filter (where status = 'delivered') as opened,
              count(clicked_at)::float / count(*) filter (where status = 'delivered') as clicked,
              count(replied_at)::float / count(*) filter (where status = 'delivered') as replied,
              count(unsubscribed_at)::float / count(*) filter (where status = 'delivered') as unsubscribed,
              count(complaint_at)::float / count(*) filter (where status = 'delivered') as complained,
              count(*) filter (where bounce_type = 'hard')::float / count(bounce_type) as hard
         from emails where not is_warmup and sent_at is not null`,
    )
    expect(r?.delivered).toBeGreaterThan(0.93)
    expect(r?.delivered).toBeLessThan(0.97)
    expect(r?.bounced).toBeGreaterThan(0.02)
    expect(r?.bounced).toBeLessThan(0.04)
    expect(r?.opened).toBeGreaterThan(0.4)
    expect(r?.opened).toBeLessThan(0.6)
    expect(r?.clicked).toBeGreaterThan(0.05)
    expect(r?.clicked).toBeLessThan(0.1)
    expect(r?.replied).toBeGreaterThan(0.02)
    expect(r?.replied).toBeLessThan(0.08)
    expect(r?.unsubscribed).toBeGreaterThan(0.003)
    expect(r?.unsubscribed).toBeLessThan(0.008)
    expect(r?.complained).toBeGreaterThan(0.0003)
    expect(r?.complained).toBeLessThan(0.0015)
    expect(r?.hard).toBeGreaterThan(0.5)
  })

  it('sends campaign emails in business hours, mostly on weekdays', async () => {
    const [r] = await rows<{ business: number; weekend: number }>(
      db,
      `select avg(((e.sent_at at time zone t.time_zone)::time between '08:00' and '18:00')::int)::float as business,
              avg((extract(isodow from e.sent_at at time zone t.time_zone) >= 6)::int)::float as weekend
         from emails e join tenants t on t.id = e.tenant_id where not e.is_warmup and e.sent_at is not null`,
    )
    // by the local clock, also on the days it changes
    expect(r?.business).toBe(1)
    expect(r?.weekend).toBeLessThan(0.15)
  })

  it('spreads the sends over the days of the window, and no event comes before its send', async () => {
    const [r] = await rows<{ days: number; first: string; last: string }>(
      db,
      `select count(distinct (sent_at at time zone 'UTC')::date)::int as days,
              min(sent_at)::text as first, max(sent_at)::text as last from emails`,
    )
    expect(r?.days).toBeGreaterThanOrEqual(89)
    expect(r?.days).toBeLessThanOrEqual(91)
    expect(
      await count(
        db,
        `select count(*) as n from emails where least(opened_at, clicked_at, replied_at,
           unsubscribed_at, complaint_at) <= sent_at`,
      ),
    ).toBe(0)
  })
})
