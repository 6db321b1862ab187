import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dayString } from '../src/calendar.js'
import { EDGE_CASE_TENANTS, edgeCaseDays, generateSourceData } from '../src/index.js'
import { count, rows } from './support/query.js'

// edgeCases: true adds the cases the aggregator's exactness test needs, whatever the window.

const END = '2025-01-20T10:00:00Z'
const days = edgeCaseDays(Date.parse(END))
let database: TestDatabase
let db: Kysely<unknown>

beforeAll(async () => {
  database = await createTestDatabase({ label: 'gen_edges' })
  await generateSourceData(database.url(), {
    seed: 3,
    emails: 2000,
    days: 20,
    end: END,
    edgeCases: true,
  })
  db = database.connect().db as unknown as Kysely<unknown>
})

afterAll(async () => {
  await database?.drop()
})

const EDGE = `e.tenant_id like 'edge-%'`

describe('the edge-case days', () => {
  it("are New York's last clock changes and the last month end before the end", () => {
    expect(dayString(days.springForward)).toBe('2024-03-10')
    expect(dayString(days.fallBack)).toBe('2024-11-03')
    expect(dayString(days.monthEnd)).toBe('2024-12-31')
  })

  it('have campaign and warmup sends at local midnight and at 23:59:59.999 in every edge tenant', async () => {
    const found = await rows<{ tenant_id: string; day: string; at: string; warmup: boolean }>(
      db,
      `select e.tenant_id, (e.sent_at at time zone t.time_zone)::date::text as day,
              (e.sent_at at time zone t.time_zone)::time::text as at, e.is_warmup as warmup
         from emails e join tenants t on t.id = e.tenant_id
        where ${EDGE} and (e.sent_at at time zone t.time_zone)::time in ('00:00', '23:59:59.999')`,
    )
    for (const { id } of EDGE_CASE_TENANTS) {
      for (const day of [days.springForward, days.fallBack, days.monthEnd]) {
        for (const at of ['00:00:00', '23:59:59.999']) {
          for (const warmup of [false, true]) {
            expect(
              found.some(
                (f) =>
                  f.tenant_id === id &&
                  f.day === dayString(day) &&
                  f.at === at &&
                  f.warmup === warmup,
              ),
              `${id} ${dayString(day)} ${at} ${warmup ? 'warmup' : 'campaign'}`,
            ).toBe(true)
          }
        }
      }
      // and the first instant of the next month
      expect(
        found.some(
          (f) =>
            f.tenant_id === id && f.day === dayString(days.monthEnd + 1) && f.at === '00:00:00',
        ),
      ).toBe(true)
    }
    // in New York those days last 23 and 25 hours
    const [ny] = await rows<{ spring: string; fall: string }>(
      db,
      `select (('${dayString(days.springForward + 1)}'::timestamp at time zone 'America/New_York')
               - ('${dayString(days.springForward)}'::timestamp at time zone 'America/New_York'))::text as spring,
              (('${dayString(days.fallBack + 1)}'::timestamp at time zone 'America/New_York')
               - ('${dayString(days.fallBack)}'::timestamp at time zone 'America/New_York'))::text as fall`,
    )
    expect(ny).toEqual({ spring: '23:00:00', fall: '1 day 01:00:00' })
  })
})

describe('the edge-case rows', () => {
  it('include a completed campaign that sent emails and delivered none', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from (select e.tenant_id from emails e join campaigns c
            on c.tenant_id = e.tenant_id and c.id = e.campaign_id
          where ${EDGE} and c.status = 'completed' group by e.tenant_id, e.campaign_id
         having count(e.sent_at) > 0 and count(*) filter (where e.status = 'delivered') = 0) x`,
      ),
    ).toBe(3)
  })

  it('include a warmup-only mailbox, a mailbox without warmup and a warmup email before its start', async () => {
    const [m] = await rows<Record<string, number>>(
      db,
      `select count(*) filter (where w.id is not null and not exists (select from emails e
                where e.tenant_id = m.tenant_id and e.email_account_id = m.id and not e.is_warmup)
                and exists (select from emails e where e.tenant_id = m.tenant_id and e.email_account_id = m.id))::int as only,
              count(*) filter (where w.id is null and exists (select from emails e
                where e.tenant_id = m.tenant_id and e.email_account_id = m.id))::int as without,
              count(*) filter (where exists (select from emails e where e.tenant_id = m.tenant_id
                and e.email_account_id = m.id and e.is_warmup and e.sent_at < w.started_at))::int as early
         from email_accounts m left join warmup_status w on w.tenant_id = m.tenant_id and w.email_account_id = m.id
        where m.tenant_id like 'edge-%'`,
    )
    expect(m).toEqual({ only: 3, without: 3, early: 3 })
  })

  it('include a lead who complained and replied, a queued email and a failed one that was sent', async () => {
    const [r] = await rows<Record<string, number>>(
      db,
      `select count(*) filter (where complaint_at is not null and replied_at is not null)::int as both,
              count(*) filter (where status = 'queued' and sent_at is null)::int as queued,
              count(*) filter (where status = 'failed' and sent_at is not null)::int as failed,
              count(*) filter (where unsubscribed_at is not null)::int as unsubscribed
         from emails e where ${EDGE}`,
    )
    expect(r).toEqual({ both: 3, queued: 6, failed: 6, unsubscribed: 3 })
  })

  it('include a tenant with no subscription and one with overlapping ones starting at one instant', async () => {
    const subs = await rows<{ tenant_id: string; n: number; tied: number }>(
      db,
      `select t.id as tenant_id, count(s.id)::int as n,
              (count(s.started_at) - count(distinct s.started_at))::int as tied
         from tenants t left join subscriptions s on s.tenant_id = t.id
        where t.id like 'edge-%' group by t.id order by t.id`,
    )
    expect(subs).toEqual([
      { tenant_id: 'edge-ist', n: 1, tied: 0 },
      { tenant_id: 'edge-ny', n: 3, tied: 1 },
      { tenant_id: 'edge-utc', n: 0, tied: 0 },
    ])
  })

  it('have every send and event before the end, and the contract shapes', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from emails e where ${EDGE} and (
           greatest(sent_at, opened_at, replied_at, unsubscribed_at, complaint_at, updated_at) >= '${END}'
           or least(opened_at, replied_at, unsubscribed_at, complaint_at) <= sent_at
           or (is_warmup and (campaign_id is not null or lead_id is not null))
           or (not is_warmup and (campaign_id is null or lead_id is null)))`,
      ),
    ).toBe(0)
    expect(await count(db, `select count(*) as n from emails e where ${EDGE}`)).toBe(69)
  })
})
