import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendActivity, generateSourceData } from '../src/index.js'
import { fingerprint } from './support/fingerprint.js'
import { count, rows } from './support/query.js'

// The live demo's stream: new sends and events arriving on recent emails, as the writer role.

const END = '2024-05-10T14:00:00Z'
const NOW = new Date(END)
const databases: TestDatabase[] = []

async function generated(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase({ label })
  databases.push(database)
  await generateSourceData(database.url(), { seed: 4, emails: 20_000, days: 30, end: END })
  return database
}

let a: TestDatabase

beforeAll(async () => {
  a = await generated('gen_append_a')
})

afterAll(async () => {
  await Promise.all(databases.map((d) => d.drop()))
})

describe('appendActivity', () => {
  it('inserts new sends and updates recent emails, every change in the minute before now', async () => {
    const writer = a.connect(ROLES.writer).db
    const report = await appendActivity(writer, { seed: 5, count: 300, now: NOW })
    expect(report.inserted).toBeGreaterThan(50)
    expect(report.updated).toBeGreaterThan(50)
    expect(report.leads).toBeGreaterThan(0)
    const db = a.connect().db as unknown as Kysely<unknown>
    const [changed] = await rows<{ inserted: number; updated: number; leads: number }>(
      db,
      `select count(*) filter (where id > 20000)::int as inserted,
              count(*) filter (where id <= 20000)::int as updated,
              (select count(*)::int from leads where imported > '${END}'::timestamptz - interval '1 day') as leads
         from emails where updated_at = '${END}'`,
    )
    expect(changed).toEqual(report)
    expect(
      await count(
        db,
        `select count(*) as n from emails where id > 20000 and
           (sent_at < '${END}'::timestamptz - interval '1 minute' or sent_at > '${END}')`,
      ),
    ).toBe(0)
  })

  it('keeps the contract shapes: events after sends, follow-ups after the step before, own campaign', async () => {
    const db = a.connect().db as unknown as Kysely<unknown>
    expect(
      await count(
        db,
        `select count(*) as n from emails where
           least(opened_at, clicked_at, replied_at, unsubscribed_at, complaint_at) <= sent_at
           or clicked_at < opened_at or (bounce_type is not null) <> (status = 'bounced')
           or (sent_at is null) <> (status = 'queued')`,
      ),
    ).toBe(0)
    expect(
      await count(
        db,
        `select count(*) as n from emails e
           join campaign_sequence_steps s on s.tenant_id = e.tenant_id and s.id = e.sequence_step_id
           join campaigns c on c.tenant_id = e.tenant_id and c.id = e.campaign_id
          where e.id > 20000 and (s.campaign_id <> e.campaign_id or c.status <> 'active'
             or (s.step_number > 1 and not exists (select from emails p
                   join campaign_sequence_steps ps on ps.tenant_id = p.tenant_id and ps.id = p.sequence_step_id
                  where p.tenant_id = e.tenant_id and p.lead_id = e.lead_id and p.campaign_id = e.campaign_id
                    and ps.step_number = s.step_number - 1 and p.sent_at < e.sent_at)))`,
      ),
    ).toBe(0)
    expect(
      await count(
        db,
        `select count(*) as n from (select 1 from emails where not is_warmup
           group by tenant_id, lead_id, sequence_step_id having count(*) > 1) x`,
      ),
    ).toBe(0)
  })

  it('makes the same changes for the same seed, now and data, and others for another seed', async () => {
    const b = await generated('gen_append_b')
    await appendActivity(b.connect(ROLES.writer).db, { seed: 5, count: 300, now: NOW })
    expect(await fingerprint(b.connect().db)).toEqual(await fingerprint(a.connect().db))
    const c = await generated('gen_append_c')
    await appendActivity(c.connect(ROLES.writer).db, { seed: 6, count: 300, now: NOW })
    expect((await fingerprint(c.connect().db)).emails).not.toEqual(
      (await fingerprint(a.connect().db)).emails,
    )
  })

  it('keeps going tick after tick, and says what is missing when there is nothing to add to', async () => {
    const writer = a.connect(ROLES.writer).db
    for (let tick = 1; tick <= 3; tick++) {
      const report = await appendActivity(writer, {
        seed: tick,
        count: 20,
        now: new Date(NOW.getTime() + tick * 5000),
      })
      expect(report.inserted + report.updated).toBeGreaterThan(0)
    }
    const empty = await createTestDatabase({ label: 'gen_append_empty' })
    databases.push(empty)
    await expect(appendActivity(empty.connect().db, { count: 5 })).rejects.toThrow(
      'there are no tenants: fill the source tables first (generateSourceData)',
    )
  })
})
