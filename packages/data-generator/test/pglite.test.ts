import { bootstrapDatabase, createDatabase, type Database, migrate } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GenerateOptions, generateSourceData } from '../src/index.js'
import { fingerprint } from './support/fingerprint.js'

// On embedded PGlite (the demo's default) the generator writes the same rows as on PostgreSQL.

const OPTIONS: GenerateOptions = {
  seed: 21,
  emails: 15_000,
  days: 30,
  end: '2024-11-05T12:00:00Z',
  edgeCases: true,
}

let postgres: TestDatabase
const embedded: Database[] = []
let expected: Record<string, string>

async function embeddedDatabase(): Promise<Database> {
  const database = createDatabase({ dataDir: 'memory://' })
  embedded.push(database)
  await bootstrapDatabase(database.db)
  await migrate(database.db)
  return database
}

beforeAll(async () => {
  postgres = await createTestDatabase({ label: 'gen_pglite' })
  await generateSourceData(postgres.url(), OPTIONS)
  expected = await fingerprint(postgres.connect().db)
})

afterAll(async () => {
  await Promise.all(embedded.map((d) => d.destroy()))
  await postgres?.drop()
})

describe('on PGlite', () => {
  it('a Database from createDatabase is loaded with COPY and gets the rows PostgreSQL got', async () => {
    const database = await embeddedDatabase()
    const report = await generateSourceData(database, OPTIONS)
    expect(report.method).toBe('copy')
    expect(report.rows.emails).toBe(15_069)
    expect(await fingerprint(database.db)).toEqual(expected)
  })

  it('a bare Kysely instance is loaded with INSERTs and gets the same rows', async () => {
    const database = await embeddedDatabase()
    const report = await generateSourceData(database.db, OPTIONS)
    expect(report.method).toBe('insert')
    expect(await fingerprint(database.db)).toEqual(expected)
  })
})
