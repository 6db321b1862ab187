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
import { insertEdgeCaseFixture, insertEmails } from './support/edge-case-fixture.js'
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

  it('records a billing month only when a billed column changes', async () => {
    const su = database.connect().db
    const writer = database.connect(ROLES.writer).db
    const keysOf = async (kind: string) =>
      (
        await sql<{ day: string }>`select day::text as day from analytics_dirty_keys
                                     where kind = ${kind} order by day`.execute(su)
      ).rows.map((r) => r.day)
    const target = sql`(select id from emails where tenant_id = 't-utc' and not is_warmup
                          and sent_at >= '2024-03-31Z' and sent_at < '2024-04-01Z' order by id limit 1)`
    await sql`update emails set opened_at = sent_at, clicked_at = sent_at
               where tenant_id = 't-utc' and id = ${target}`.execute(writer)
    expect(await keysOf('billing_month'), 'an open or a click bills nothing').toEqual([])
    expect(await keysOf('campaign_day')).toEqual(['2024-03-31'])
    await sql`update emails set sent_at = sent_at + interval '1 day'
               where tenant_id = 't-utc' and id = ${target}`.execute(writer)
    expect(await keysOf('billing_month'), 'a send moving month dirties both months').toEqual([
      '2024-03-01',
      '2024-04-01',
    ])
    await drainAll(writer)
    await expectExact()
  })

  it('a bounce on one day moves the health of the six days after it, read from the stored days', async () => {
    const writer = database.connect(ROLES.writer).db
    // a mailbox sending every day for two weeks, aggregated
    const fresh = Array.from({ length: 14 }, (_, i) => ({
      tenant_id: 't-utc',
      id: 2_000_000 + i,
      company_id: 't-utc-co',
      email_account_id: 't-utc-m3',
      is_warmup: i % 3 === 0,
      campaign_id: i % 3 === 0 ? null : 't-utc-c1',
      sequence_step_id: i % 3 === 0 ? null : 't-utc-c1-s1',
      lead_id: i % 3 === 0 ? null : 't-utc-l7',
      status: 'delivered',
      sent_at: `2024-06-${String(i + 1).padStart(2, '0')}T12:00:00Z`,
      opened_at: null,
      clicked_at: null,
      replied_at: null,
      bounce_type: null,
      unsubscribed_at: null,
      // a warmup complaint on a day the windows later read from the stored rows
      complaint_at: i === 3 ? '2024-06-04T13:00:00Z' : null,
    }))
    await insertEmails(writer, fresh)
    await drainAll(writer)
    await expectExact()
    // a bounce and a warmup complaint on single days 8 days apart (two ranges, the second's
    // window reading days the first rewrites): only those days' keys are dirty
    await sql`update emails set bounce_type = 'hard', status = 'bounced'
               where tenant_id = 't-utc' and id = 2000004`.execute(writer)
    await sql`update emails set complaint_at = sent_at where tenant_id = 't-utc' and id = 2000012`.execute(
      writer,
    )
    const { rows } = await sql<{ day: string }>`
      select day::text as day from analytics_dirty_keys where kind = 'mailbox_day' order by day`.execute(
      writer,
    )
    expect(rows.map((r) => r.day)).toEqual(['2024-06-05', '2024-06-13'])
    const health = async () =>
      (
        await sql<{ day: string; health_score: number }>`
          select day::text as day, health_score from mailbox_analytics
           where tenant_id = 't-utc' and email_account_id = 't-utc-m3' and day >= '2024-06-01'
           order by day`.execute(writer)
      ).rows
    const before = await health()
    await drainAll(writer)
    const after = await health()
    const changed = after.filter((r, i) => r.health_score !== before[i]?.health_score)
    expect(changed.map((r) => r.day)).toEqual([
      '2024-06-05',
      '2024-06-06',
      '2024-06-07',
      '2024-06-08',
      '2024-06-09',
      '2024-06-10',
      '2024-06-11',
      '2024-06-13',
      '2024-06-14',
    ])
    await expectExact()
  })

  it('an open writes only its own mailbox day; beside a bounce in the same batch, the window scores', async () => {
    const writer = database.connect(ROLES.writer).db
    // the mailbox of the test above: one email a day from 2024-06-01 to 2024-06-14
    await sql`update emails set opened_at = sent_at + interval '1 hour'
               where tenant_id = 't-utc' and id = 2000008`.execute(writer)
    const open = await drainDirtyKeys(writer, { tenantId: 't-utc' })
    expect(open.state).toBe('drained')
    const mailboxRows = (r: typeof open) =>
      r.state === 'drained' ? r.counts.find((c) => c.table === 'mailbox_analytics')?.upserted : -1
    expect(mailboxRows(open), 'the opened day only: its health inputs did not change').toBe(1)
    await expectExact()
    // a warmup bounce on 06-07 and, drained with it, an open on 06-12: 06-12 is a changed day
    // whose inputs did not change, but it lies in the bounce's windows and must take its score
    // from them (100 → 50), not from its stored row; 06-13 moves too (its complaint's 50 → 0)
    await sql`update emails set bounce_type = 'soft', status = 'bounced'
               where tenant_id = 't-utc' and id = 2000006`.execute(writer)
    await sql`update emails set opened_at = sent_at + interval '1 hour'
               where tenant_id = 't-utc' and id = 2000011`.execute(writer)
    const health = async () =>
      (
        await sql<{ day: string; health_score: number }>`
          select day::text as day, health_score from mailbox_analytics
           where tenant_id = 't-utc' and email_account_id = 't-utc-m3'
             and day in ('2024-06-12', '2024-06-13') order by day`.execute(writer)
      ).rows.map((r) => r.health_score)
    expect(await health()).toEqual([100, 50])
    const both = await drainDirtyKeys(writer, { tenantId: 't-utc' })
    expect(await health()).toEqual([50, 0])
    expect(mailboxRows(both), 'the two days whose windows took the bounce').toBe(2)
    await expectExact()
  })

  it('concurrent drains limited to a few tenants each share the waiting tenants', async () => {
    const su = database.connect().db
    const writer = database.connect(ROLES.writer).db
    await sql`update emails set clicked_at = coalesce(clicked_at, sent_at) + interval '1 minute'
               where sent_at is not null and tenant_id in ('t-utc', 't-ist', 't-ny')`.execute(
      writer,
    )
    const a = database.connect(ROLES.writer).db
    // a transaction holding the lock of the first tenant in line makes the drain take the next
    const held = await a.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('pm_aggregate'), hashtext('t-ist'))`.execute(
        trx,
      )
      return drainDirtyKeys(writer, { maxTenants: 1 })
    })
    expect(held).toMatchObject({ state: 'drained', tenantIds: ['t-ny'] })
    const next = await drainDirtyKeys(writer, { maxTenants: 1 })
    expect(next).toMatchObject({ state: 'drained', tenantIds: ['t-ist'] })
    await drainAll(writer)
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_locks
       where locktype = 'advisory'
         and database = (select oid from pg_database where datname = current_database())`.execute(
      su,
    )
    expect(rows[0]?.n, 'no lock outlives its drain').toBe(0)
    await expectExact()
  })
})
