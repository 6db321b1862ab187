import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  drainDirtyKeys,
  recomputeAll,
  recomputeBillingPeriod,
  recomputeCampaign,
  recomputeTenantDay,
  verifyAnalytics,
} from '../src/index.js'
import { computeContract } from './support/contract-oracle.js'
import { insertEdgeCaseFixture } from './support/edge-case-fixture.js'
import { applyMutations } from './support/mutations.js'
import { readAnalytics, readAnalyticsExactly, readSource, sortTables } from './support/snapshot.js'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'incremental' })
  await insertEdgeCaseFixture(database.connect().db)
  await recomputeAll(database.connect(ROLES.writer).db)
})

afterAll(async () => {
  await database?.drop()
})

async function drainAll(db: ReturnType<TestDatabase['connect']>['db']): Promise<number> {
  let drained = 0
  for (;;) {
    const r = await drainDirtyKeys(db, { batchSize: 200 })
    if (r.state === 'idle') return drained
    if (r.state === 'drained') drained += r.keys
  }
}

async function expectExact(): Promise<void> {
  const su = database.connect().db
  const expected = sortTables(computeContract(await readSource(su)))
  const actual = await readAnalytics(su)
  for (const table of Object.keys(expected) as (keyof typeof expected)[]) {
    expect(actual[table], table).toEqual(expected[table])
  }
  const { rows } = await sql<{
    n: number
  }>`select count(*)::int as n from analytics_dirty_keys`.execute(su)
  expect(rows[0]?.n, 'dirty keys left').toBe(0)
}

describe('incremental aggregation from dirty keys', () => {
  it('records dirty keys in the transaction of each source change', async () => {
    const su = database.connect().db
    const before = await sql<{
      n: number
    }>`select count(*)::int as n from analytics_dirty_keys`.execute(su)
    expect(before.rows[0]?.n).toBe(0)
    await su
      .transaction()
      .execute(async (trx) => {
        await sql`update emails set opened_at = sent_at where id = (select min(id) from emails where sent_at is not null)`.execute(
          trx,
        )
        throw new Error('rolled back')
      })
      .catch(() => undefined)
    const after = await sql<{
      n: number
    }>`select count(*)::int as n from analytics_dirty_keys`.execute(su)
    expect(after.rows[0]?.n, 'a rolled-back change leaves no key').toBe(0)
  })

  it('after every kind of source change, draining makes the tables exact again', async () => {
    const writer = database.connect(ROLES.writer).db
    await applyMutations(writer, 11)
    const drained = await drainAll(writer)
    expect(drained).toBeGreaterThan(0)
    await expectExact()
  })

  it('converges with two drainers running at once while changes keep arriving', async () => {
    const a = database.connect(ROLES.writer).db
    const b = database.connect(ROLES.writer).db
    let writing = true
    const drainer = async (db: typeof a) => {
      while (writing) await drainAll(db)
    }
    const runs = [drainer(a), drainer(b)]
    for (let round = 1; round <= 3; round++) await applyMutations(a, 20 + round, round)
    writing = false
    await Promise.all(runs)
    await drainAll(a)
    await expectExact()
  })

  it('is idempotent: recomputing again, concurrently, or job by job in reverse order changes nothing', async () => {
    const writer = database.connect(ROLES.writer).db
    const before = await readAnalyticsExactly(writer)
    await recomputeAll(writer)
    expect(await readAnalyticsExactly(writer)).toBe(before)
    await Promise.all([recomputeAll(writer), recomputeAll(database.connect(ROLES.writer).db)])
    expect(await readAnalyticsExactly(writer)).toBe(before)
    const jobs = [
      () => recomputeTenantDay(writer, { tenantId: 't-ny', day: '2024-03-10' }),
      () => recomputeCampaign(writer, { tenantId: 't-utc', campaignId: 't-utc-c1' }),
      () =>
        recomputeCampaign(writer, { tenantId: 't-ist', campaignId: 't-ist-c1', day: '2024-03-31' }),
      () => recomputeBillingPeriod(writer, { tenantId: 't-ny', month: '2024-03-01' }),
    ]
    for (const job of jobs) await job()
    for (const job of [...jobs].reverse()) await job()
    await Promise.all(jobs.map((job) => job()))
    expect(await readAnalyticsExactly(writer)).toBe(before)
  })

  it('verifyAnalytics finds no drift, then names the table and tenant of a tampered row', async () => {
    const writer = database.connect(ROLES.writer).db
    expect((await verifyAnalytics(writer)).drift).toEqual([])
    await sql`update campaign_analytics set sent = sent + 1
               where (tenant_id, campaign_id, day) = (select tenant_id, campaign_id, day from campaign_analytics
                                                     where tenant_id = 't-ny' limit 1)`.execute(
      writer,
    )
    const { drift } = await verifyAnalytics(writer, { tenantIds: ['t-ny', 't-utc'] })
    expect(drift).toEqual([
      { table: 'campaign_analytics', tenantId: 't-ny', missing: 1, unexpected: 1 },
    ])
    // verification changes nothing: the tampered row is still there until a recompute
    expect((await verifyAnalytics(writer, { tenantIds: ['t-ny'] })).drift).toHaveLength(1)
    await recomputeAll(writer, { tenantIds: ['t-ny'] })
    await expectExact()
  })
})
