import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureDailyPartitions } from '../src/index.js'

// Creating a month's partitions while a recompute writes the daily tables: the creator takes each
// parent's lock in a transaction of its own, so it waits for the writer and never holds a parent
// the writer then needs (one transaction for all four parents deadlocked with such a writer).

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'partitions' })
})

afterAll(async () => {
  await database?.drop()
})

const partitions = async (month: string) =>
  (
    await sql<{ n: number }>`
      select count(*)::int as n from pg_class where relname like ${`%_y${month.slice(0, 4)}m${month.slice(5, 7)}`}`.execute(
      database.connect().db,
    )
  ).rows[0]?.n

describe('ensureDailyPartitions', () => {
  it('waits for a writer of the daily tables instead of deadlocking with it', async () => {
    const writer = database.connect(ROLES.writer).db
    const creator = database.connect(ROLES.writer).db
    expect(await partitions('2031-05-01')).toBe(0)
    let created: Promise<number> | undefined
    await writer.transaction().execute(async (trx) => {
      // a recompute that has written sequence_step_analytics …
      await sql`lock table sequence_step_analytics in row exclusive mode`.execute(trx)
      created = ensureDailyPartitions(creator, { first: '2031-05-01', last: '2031-05-01' })
      // … the creator has made campaign_analytics' partition and now waits for sequence steps …
      for (let i = 0; i < 100 && (await partitions('2031-05-01')) === 0; i++)
        await new Promise((r) => setTimeout(r, 50))
      // … and the recompute goes on to campaign_analytics: it must not wait for the creator
      await sql`select count(*) from campaign_analytics`.execute(trx)
    })
    // the writer committed; the creator finishes every parent
    expect(await created).toBeGreaterThanOrEqual(4)
    expect(await partitions('2031-05-01')).toBeGreaterThanOrEqual(4)
  })
})
