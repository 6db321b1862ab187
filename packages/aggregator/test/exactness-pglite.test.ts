import { bootstrapDatabase, createDatabase, type Database, migrate } from '@penguinmails/schema'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { drainDirtyKeys, recomputeAll } from '../src/index.js'
import { computeContract } from './support/contract-oracle.js'
import { insertEdgeCaseFixture } from './support/edge-case-fixture.js'
import { applyMutations } from './support/mutations.js'
import { readAnalytics, readSource, sortTables } from './support/snapshot.js'

let database: Database

beforeAll(async () => {
  database = createDatabase({ dataDir: 'memory://' })
  await bootstrapDatabase(database.db)
  await migrate(database.db)
  await insertEdgeCaseFixture(database.db)
})

afterAll(async () => {
  await database?.destroy()
})

async function expectExact() {
  const expected = sortTables(computeContract(await readSource(database.db)))
  const actual = await readAnalytics(database.db)
  for (const table of Object.keys(expected) as (keyof typeof expected)[]) {
    expect(actual[table], table).toEqual(expected[table])
  }
}

it('on embedded PGlite, a full recompute and then the drain after changes are exact', async () => {
  await recomputeAll(database.db)
  await expectExact()
  await applyMutations(database.db, 5)
  let state = ''
  do state = (await drainDirtyKeys(database.db)).state
  while (state !== 'idle')
  await expectExact()
})
