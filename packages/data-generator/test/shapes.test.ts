import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GenerateProgress, generateSourceData } from '../src/index.js'
import { count, rows } from './support/query.js'

// Every generated row has the shapes the contract (§1) names, and the data looks like outreach.

const END = '2024-03-31T15:30:00Z'
let database: TestDatabase
let db: Kysely<unknown>
const progress: GenerateProgress[] = []

beforeAll(async () => {
  database = await createTestDatabase({ label: 'gen_shapes' })
  await generateSourceData(database.url(), {
    seed: 11,
    emails: 30_000,
    days: 45,
    end: END,
    edgeCases: true,
    onProgress: (p) => progress.push(p),
  })
  db = database.connect().db as unknown as Kysely<unknown>
})

afterAll(async () => {
  await database?.drop()
})

const RANDOM = `tenant_id not like 'edge-%'`

describe('emails', () => {
  it('are campaign emails with campaign, step and lead, or warmup emails with none', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from emails where not (
          (is_warmup and campaign_id is null and sequence_step_id is null and lead_id is null)
          or (not is_warmup and campaign_id is not null and sequence_step_id is not null and lead_id is not null))`,
      ),
    ).toBe(0)
    expect(await count(db, 'select count(*) as n from emails where is_warmup')).toBeGreaterThan(0)
    expect(await count(db, 'select count(*) as n from emails where not is_warmup')).toBeGreaterThan(
      0,
    )
  })

  it('have their events after the send, nothing at or after the end, and updated_at the latest', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from emails where
           opened_at <= sent_at or replied_at <= sent_at or unsubscribed_at <= sent_at
           or complaint_at <= sent_at or clicked_at <= sent_at or clicked_at < opened_at
           or (sent_at is null and (status <> 'queued' or opened_at is not null or clicked_at is not null
               or replied_at is not null or bounce_type is not null or unsubscribed_at is not null
               or complaint_at is not null))
           or (sent_at is not null and status = 'queued')
           or greatest(sent_at, opened_at, clicked_at, replied_at, unsubscribed_at, complaint_at, updated_at)
              >= '${END}'
           or updated_at < greatest(sent_at, opened_at, clicked_at, replied_at, unsubscribed_at, complaint_at)
           or (bounce_type is not null) <> (status = 'bounced')
           or (status <> 'delivered' and (opened_at is not null or clicked_at is not null or replied_at is not null))`,
      ),
    ).toBe(0)
  })

  it('point at a step of their own campaign, a lead and a mailbox of their company', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from emails e
           left join campaign_sequence_steps s on s.tenant_id = e.tenant_id and s.id = e.sequence_step_id
           left join campaigns c on c.tenant_id = e.tenant_id and c.id = e.campaign_id
           left join leads l on l.tenant_id = e.tenant_id and l.id = e.lead_id
          where not e.is_warmup and (s.campaign_id is distinct from e.campaign_id
             or c.company_id is distinct from e.company_id or l.company_id is distinct from e.company_id)`,
      ),
    ).toBe(0)
    expect(
      await count(
        db,
        `select count(*) as n from emails e
           left join email_accounts m on m.tenant_id = e.tenant_id and m.id = e.email_account_id
          where m.company_id is distinct from e.company_id`,
      ),
    ).toBe(0)
  })

  it('reach a lead once per step, in step order, each step after the one before', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from (select 1 from emails where not is_warmup
           group by tenant_id, lead_id, sequence_step_id having count(*) > 1) x`,
      ),
    ).toBe(0)
    expect(
      await count(
        db,
        `select count(*) as n from (
           select s.step_number, e.sent_at,
                  lag(s.step_number) over w as prev_step, lag(e.sent_at) over w as prev_sent
             from emails e join campaign_sequence_steps s on s.tenant_id = e.tenant_id and s.id = e.sequence_step_id
            where e.${RANDOM} and not e.is_warmup
           window w as (partition by e.tenant_id, e.lead_id, e.campaign_id order by s.step_number)) x
          where (prev_step is null and step_number <> 1) or prev_step <> step_number - 1
             or (prev_sent is null and step_number > 1) or sent_at <= prev_sent`,
      ),
    ).toBe(0)
  })

  it('include queued emails (sent_at NULL), failed ones with sent_at, and unconfirmed sends', async () => {
    const [s] = await rows<{ queued: string; failed: string; sent: string }>(
      db,
      `select count(*) filter (where status = 'queued') as queued,
              count(*) filter (where status = 'failed' and sent_at is not null) as failed,
              count(*) filter (where status = 'sent') as sent
         from emails where ${RANDOM}`,
    )
    expect(Number(s?.queued)).toBeGreaterThan(0)
    expect(Number(s?.failed)).toBeGreaterThan(0)
    expect(Number(s?.sent)).toBeGreaterThan(0)
  })
})

describe('the structure', () => {
  it('has tenants in several zones, a half-hour one among them', async () => {
    const zones = (
      await rows<{ time_zone: string }>(db, 'select distinct time_zone from tenants')
    ).map((z) => z.time_zone)
    expect(zones).toEqual(
      expect.arrayContaining(['UTC', 'America/New_York', 'Asia/Kolkata', 'Europe/Berlin']),
    )
  })

  it('keeps every mailbox, domain and company of a tenant in that tenant', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from email_accounts m
           left join domains d on d.tenant_id = m.tenant_id and d.id = m.domain_id
           left join companies c on c.tenant_id = m.tenant_id and c.id = m.company_id
          where d.company_id is distinct from m.company_id or c.id is null`,
      ),
    ).toBe(0)
  })

  it('numbers steps 1, 2… per campaign, one to five of them', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from (select 1 from campaign_sequence_steps group by tenant_id, campaign_id
           having min(step_number) <> 1 or max(step_number) <> count(*)
               or count(distinct step_number) <> count(*) or count(*) > 5) x`,
      ),
    ).toBe(0)
    const sizes = await rows<{ n: number }>(
      db,
      `select distinct count(*)::int as n from campaign_sequence_steps where ${RANDOM}
        group by tenant_id, campaign_id order by 1`,
    )
    expect(sizes.length).toBeGreaterThanOrEqual(3)
  })

  it('has campaigns in every status, sending only while they run', async () => {
    const statuses = await rows<{ status: string; n: number; sent: number; queued: number }>(
      db,
      `select c.status, count(distinct c.id)::int as n, count(e.sent_at)::int as sent,
              count(*) filter (where e.status = 'queued')::int as queued
         from campaigns c left join emails e on e.tenant_id = c.tenant_id and e.campaign_id = c.id
        where c.${RANDOM} group by 1 order by 1`,
    )
    expect(statuses.map((s) => s.status)).toEqual(['active', 'completed', 'draft', 'paused'])
    const by = Object.fromEntries(statuses.map((s) => [s.status, s]))
    expect(by.draft).toMatchObject({ sent: 0, queued: 0 })
    expect(by.completed?.queued).toBe(0)
    expect(by.active?.queued).toBeGreaterThan(0)
    expect(
      await count(
        db,
        `select count(*) as n from campaigns c join emails e on e.tenant_id = c.tenant_id and e.campaign_id = c.id
          where e.sent_at < c.started_at or e.sent_at >= c.completed_at or c.created_at > c.started_at
             or (c.status = 'draft') <> (c.started_at is null)
             or (c.status = 'completed') <> (c.completed_at is not null)`,
      ),
    ).toBe(0)
  })

  it('has warmups ramping up, mailboxes without warmup and mailboxes that only warm up', async () => {
    const [m] = await rows<{ without: number; only: number }>(
      db,
      `select count(*) filter (where w.id is null and exists (select from emails e where e.tenant_id = m.tenant_id
                and e.email_account_id = m.id and not e.is_warmup))::int as without,
              count(*) filter (where w.id is not null and not exists (select from emails e where e.tenant_id = m.tenant_id
                and e.email_account_id = m.id and not e.is_warmup))::int as only
         from email_accounts m left join warmup_status w on w.tenant_id = m.tenant_id and w.email_account_id = m.id
        where m.${RANDOM}`,
    )
    expect(m?.without).toBeGreaterThan(0)
    expect(m?.only).toBeGreaterThan(0)
    // random warmup emails come from mailboxes with a warmup row, after it started
    expect(
      await count(
        db,
        `select count(*) as n from emails e left join warmup_status w
            on w.tenant_id = e.tenant_id and w.email_account_id = e.email_account_id
          where e.${RANDOM} and e.is_warmup and (w.id is null or e.sent_at < w.started_at)`,
      ),
    ).toBe(0)
    // during the ramp, a whole day never has fewer warmup emails than the day before
    const daily = await rows<{ mailbox: string; day: string; n: number }>(
      db,
      `select e.tenant_id || e.email_account_id as mailbox, (e.sent_at at time zone t.time_zone)::date::text as day,
              count(*)::int as n
         from emails e join tenants t on t.id = e.tenant_id
         join warmup_status w on w.tenant_id = e.tenant_id and w.email_account_id = e.email_account_id
        where e.${RANDOM} and e.is_warmup and w.status = 'active'
          and (e.sent_at at time zone t.time_zone)::date > (w.started_at at time zone t.time_zone)::date
          and (e.sent_at at time zone t.time_zone)::date < ('${END}'::timestamptz at time zone t.time_zone)::date
        group by 1, 2 order by 1, 2`,
    )
    let ramps = 0
    for (let i = 1; i < daily.length; i++) {
      const [a, b] = [daily[i - 1], daily[i]] as [(typeof daily)[0], (typeof daily)[0]]
      if (a.mailbox !== b.mailbox) continue
      expect(b.n, `${b.mailbox} on ${b.day}`).toBeGreaterThanOrEqual(a.n)
      if (b.n > a.n) ramps++
    }
    expect(ramps).toBeGreaterThan(10)
  })

  it('creates everything before it is used: tenant, company, domain, mailbox, warmup, first send', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from email_accounts m
           join tenants t on t.id = m.tenant_id
           join companies c on c.tenant_id = m.tenant_id and c.id = m.company_id
           join domains d on d.tenant_id = m.tenant_id and d.id = m.domain_id
           left join warmup_status w on w.tenant_id = m.tenant_id and w.email_account_id = m.id
          where not (t.created_at <= c.created_at and c.created_at <= d.created_at
                     and d.created_at <= m.created_at and m.created_at <= coalesce(w.started_at, m.created_at))
             or exists (select from emails e where e.tenant_id = m.tenant_id and e.email_account_id = m.id
                          and e.sent_at < m.created_at)`,
      ),
    ).toBe(0)
    expect(
      await count(
        db,
        `select count(*) as n from emails e
           join leads l on l.tenant_id = e.tenant_id and l.id = e.lead_id
           join campaigns c on c.tenant_id = e.tenant_id and c.id = e.campaign_id
           join tenants t on t.id = e.tenant_id
          where e.sent_at < l.imported or e.sent_at < c.started_at or c.created_at < t.created_at`,
      ),
    ).toBe(0)
    expect(
      await count(
        db,
        `select count(*) as n from subscriptions s join tenants t on t.id = s.tenant_id
          where s.started_at < t.created_at or s.ended_at < s.started_at`,
      ),
    ).toBe(0)
  })

  it('has a tenant without a subscription and one with overlapping ones', async () => {
    expect(
      await count(
        db,
        `select count(*) as n from tenants t where ${RANDOM.replace('tenant_id', 't.id')}
           and not exists (select from subscriptions s where s.tenant_id = t.id)`,
      ),
    ).toBeGreaterThan(0)
    expect(
      await count(
        db,
        `select count(*) as n from subscriptions a join subscriptions b
            on a.tenant_id = b.tenant_id and a.id < b.id
         where a.${RANDOM} and a.started_at < coalesce(b.ended_at, 'infinity')
           and b.started_at < coalesce(a.ended_at, 'infinity') and a.ended_at <> b.started_at`,
      ),
    ).toBeGreaterThan(0)
  })
})

describe('progress', () => {
  it('reports every table, in foreign-key order, ending at its total', async () => {
    const done = progress.filter((p) => p.rows === p.total).map((p) => p.table)
    expect([...new Set(done)]).toEqual([
      'tenants',
      'subscriptions',
      'companies',
      'domains',
      'email_accounts',
      'warmup_status',
      'campaigns',
      'campaign_sequence_steps',
      'leads',
      'emails',
    ])
    const emails = progress.filter((p) => p.table === 'emails')
    expect(emails.length).toBeGreaterThan(2)
    expect(emails.at(-1)?.rows).toBe(await count(db, 'select count(*) as n from emails'))
  })
})
