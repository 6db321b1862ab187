import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSourceData } from '../src/index.js'
import { count } from './support/query.js'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'gen_fail' })
})

afterAll(async () => {
  await database?.drop()
})

const OPTIONS = { seed: 1, emails: 30_000, days: 30, end: '2024-06-30' }

describe('a failure while writing', () => {
  it('rolls back the whole table it was writing, names it, and keeps the tables before it', async () => {
    const su = database.connect().db
    // a row the database refuses, deep inside the emails stream
    await sql`create function pm_test_refuse() returns trigger language plpgsql as $$
      begin raise exception 'refused email %', new.id; end $$`.execute(su)
    await sql`create trigger pm_test_refuse before insert on emails for each row
      when (new.id = 25000) execute function pm_test_refuse()`.execute(su)
    await expect(generateSourceData(database.url(), OPTIONS)).rejects.toThrow(
      /writing emails failed after \d+ rows, all rolled back: .*refused email 25000/,
    )
    expect(await count(su, 'select count(*) as n from emails')).toBe(0)
    expect(await count(su, 'select count(*) as n from leads')).toBeGreaterThan(0)
    await sql`drop trigger pm_test_refuse on emails`.execute(su)
  })

  it('refuses to write into source tables that already have rows, naming them', async () => {
    await expect(generateSourceData(database.url(), OPTIONS)).rejects.toThrow(
      /the source tables must be empty, but tenants, .*leads already have rows/,
    )
  })
})

describe('options', () => {
  it('are checked before anything is written, with what to change', async () => {
    const url = database.url()
    await expect(generateSourceData(url, { emails: -1 })).rejects.toThrow(
      'emails must be a whole number of at least 0 (got -1)',
    )
    await expect(generateSourceData(url, { tenants: 4, mailboxes: 2 })).rejects.toThrow(
      'mailboxes (2) must be at least the number of tenants (4)',
    )
    await expect(generateSourceData(url, { end: 'yesterday' })).rejects.toThrow(
      'end "yesterday" is neither a date (YYYY-MM-DD) nor an ISO instant',
    )
    await expect(generateSourceData(url, { ...OPTIONS, leads: 10 })).rejects.toThrow(
      /leads \(10\) is fewer than the \d+ the campaigns need \(campaign t\d+-k\d+ alone writes to \d+ leads\)/,
    )
    await expect(generateSourceData('mysql://localhost/x', OPTIONS)).rejects.toThrow(
      'must be a postgres:// or postgresql:// URL',
    )
    // seed 1 gives the only mailbox no warmup, and there is no campaign
    await expect(
      generateSourceData(url, { seed: 1, emails: 10, campaigns: 0, mailboxes: 1, tenants: 1 }),
    ).rejects.toThrow(/nothing can send the 10 emails: .*add campaigns/)
  })
})
