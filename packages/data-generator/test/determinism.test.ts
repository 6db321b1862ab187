import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GenerateOptions, generateSourceData } from '../src/index.js'
import { fingerprint } from './support/fingerprint.js'

const OPTIONS: GenerateOptions = { seed: 7, emails: 20_000, days: 60, end: '2024-11-20' }

const databases: TestDatabase[] = []
async function fresh(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase({ label })
  databases.push(database)
  return database
}

let first: Record<string, string>

beforeAll(async () => {
  const database = await fresh('gen_det_a')
  await generateSourceData(database.url(), { ...OPTIONS, edgeCases: true })
  first = await fingerprint(database.connect().db)
})

afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()))
})

describe('the same seed and options', () => {
  it('give byte-identical tables through every way of writing, also as pm_writer', async () => {
    // a Database from createDatabase (COPY through its Kysely connection)
    const viaDatabase = await fresh('gen_det_b')
    await generateSourceData(viaDatabase.connect(), { ...OPTIONS, edgeCases: true })
    expect(await fingerprint(viaDatabase.connect().db)).toEqual(first)
    // a bare Kysely instance of the writer role, under row level security (COPY into a staging table)
    const viaWriter = await fresh('gen_det_c')
    const report = await generateSourceData(viaWriter.connect(ROLES.writer).db, {
      ...OPTIONS,
      edgeCases: true,
    })
    expect(report.method).toBe('copy')
    expect(await fingerprint(viaWriter.connect().db)).toEqual(first)
  })

  it('without the edge cases leave the random tenants exactly as they were', async () => {
    const database = await fresh('gen_det_d')
    const report = await generateSourceData(database.url(), OPTIONS)
    expect(report.rows.emails).toBe(20_000)
    const plain = database.connect().db
    expect(await fingerprint(plain)).toEqual(await fingerprint(plain, 'random'))
    const withEdges = (databases[0] as TestDatabase).connect().db
    expect(await fingerprint(withEdges, 'random')).toEqual(await fingerprint(plain))
  })
})

describe('a different seed', () => {
  it('gives different rows in every table that has random content', async () => {
    const database = await fresh('gen_det_e')
    await generateSourceData(database.url(), { ...OPTIONS, seed: 8, edgeCases: true })
    const other = await fingerprint(database.connect().db)
    expect(other.emails).not.toEqual(first.emails)
    expect(other.leads).not.toEqual(first.leads)
    expect(other.campaigns).not.toEqual(first.campaigns)
    expect(other.email_accounts).not.toEqual(first.email_accounts)
    // the email count is the option, not the seed
    expect(other.emails?.split(':')[0]).toBe(first.emails?.split(':')[0])
  })
})
