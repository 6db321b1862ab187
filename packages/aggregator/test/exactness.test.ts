import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { drainDirtyKeys, recomputeAll } from '../src/index.js'
import { computeContract } from './support/contract-oracle.js'
import { insertEdgeCaseFixture } from './support/edge-case-fixture.js'
import { readAnalytics, readSource, sortTables } from './support/snapshot.js'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'exact' })
  await insertEdgeCaseFixture(database.connect().db)
})

afterAll(async () => {
  await database?.drop()
})

describe('a full recompute, as the writer role', () => {
  it('makes every analytics table equal to the contract computed in TypeScript', async () => {
    const writer = database.connect(ROLES.writer).db
    const result = await recomputeAll(writer)
    expect(result.tenants).toBe(4)
    const su = database.connect().db
    const expected = sortTables(computeContract(await readSource(su)))
    const actual = await readAnalytics(su)
    for (const table of Object.keys(expected) as (keyof typeof expected)[]) {
      expect(expected[table].length, `${table} has rows`).toBeGreaterThan(0)
      expect(actual[table], table).toEqual(expected[table])
    }
    const { rows } = await sql<{
      n: number
    }>`select count(*)::int as n from analytics_dirty_keys`.execute(su)
    expect(rows[0]?.n).toBe(0)
  })

  it('leaves nothing for the drain to do afterwards', async () => {
    const writer = database.connect(ROLES.writer).db
    expect(await drainDirtyKeys(writer)).toEqual({ state: 'idle' })
  })
})
