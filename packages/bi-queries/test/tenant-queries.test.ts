import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  MAILBOX_SORTS,
  MAILBOX_WARMUP_FILTERS,
  type MailboxSort,
  mailboxes,
  tenantUsage,
  WARMUP_PERFORMANCE_SORTS,
  type WarmupPerformanceSort,
  warmupPerformance,
} from '../src/index.js'
import {
  expectedMailboxes,
  expectedTenantUsage,
  expectedWarmupPerformance,
} from '../src/testing/index.js'
import {
  type AnalyticsDatabase,
  allPages,
  byKeys,
  openAnalyticsDatabase,
  TENANTS,
} from './support/analytics-database.js'

let data: AnalyticsDatabase

beforeAll(async () => {
  data = await openAnalyticsDatabase('bi_tenant', 202)
})

afterAll(async () => {
  await data?.database.drop()
})

describe('tenantUsage', () => {
  it('equals the reference, growth over a skipped month included', async () => {
    const ranges = [
      { from: '2023-01-01', to: '2024-01-01' },
      { from: '2024-01-01', to: '2024-05-01' },
      { from: '2024-02-15', to: '2024-03-02' },
      { from: '2024-04-30', to: '2024-05-01' },
    ]
    let months = 0
    for (const tenant of TENANTS)
      for (const range of ranges) {
        const rows = await data.asTenant(tenant.id, (trx) =>
          tenantUsage(trx, { tenantId: tenant.id, ...range }),
        )
        expect(rows).toEqual(expectedTenantUsage(data.fixture, tenant.id, range.from, range.to))
        months += rows.length
      }
    expect(months).toBeGreaterThanOrEqual(15)
    // the month after the skipped one grows from nothing: growth is NULL, not an error
    const all = await data.asTenant('tenant-a', (trx) =>
      tenantUsage(trx, { tenantId: 'tenant-a', from: '2023-12-01', to: '2024-05-01' }),
    )
    expect(all.some((r) => r.previous_period_emails === 0 && r.mom_growth === null)).toBe(true)
  })

  it('reads billing months in the tenant time zone', async () => {
    const [march] = await data.asTenant('tenant-b', (trx) =>
      tenantUsage(trx, { tenantId: 'tenant-b', from: '2024-03-01', to: '2024-03-02' }),
    )
    // New York: EST at the start of March, EDT (from 10 March) at the start of April
    expect(march).toMatchObject({
      period: '2024-03',
      period_start: '2024-03-01T05:00:00.000Z',
      period_end: '2024-04-01T04:00:00.000Z',
    })
  })
})

describe('warmupPerformance', () => {
  it('equals the reference for every tenant, window and sort, across pages', async () => {
    let compared = 0
    for (const tenant of TENANTS)
      for (const window of [
        { days: 30, to: '2024-03-20' },
        { days: 60, to: '2024-03-20' },
        { days: 7, to: '2024-03-20' },
      ])
        for (const sort of Object.keys(WARMUP_PERFORMANCE_SORTS) as WarmupPerformanceSort[]) {
          const { rows } = await data.asTenant(tenant.id, (trx) =>
            allPages((cursor) =>
              warmupPerformance(trx, { tenantId: tenant.id, ...window, sort, limit: 2, cursor }),
            ),
          )
          const expected = expectedWarmupPerformance(
            data.fixture,
            tenant.id,
            window.days,
            window.to,
          )
          type Row = (typeof expected)[number]
          const order =
            sort === 'email_account_id'
              ? byKeys<Row>((r) => r.email_account_id)
              : sort === 'avg_health_score'
                ? byKeys<Row>(
                    (r) => r.avg_health_score,
                    (r) => r.email_account_id,
                  )
                : (a: Row, b: Row) =>
                    byKeys<Row>(
                      (r) => r.avg_health_score,
                      (r) => r.email_account_id,
                    )(b, a)
          expect(rows).toEqual(expected.sort(order))
          compared += rows.length
        }
    expect(compared).toBeGreaterThan(30)
  })

  it('leaves out mailboxes with fewer than three tracking days and keeps those with three', async () => {
    const page = await data.asTenant('tenant-a', (trx) =>
      warmupPerformance(trx, { tenantId: 'tenant-a', days: 10, to: '2024-03-20', limit: 100 }),
    )
    expect(page).toMatchObject({ from: '2024-03-10', to: '2024-03-20' })
    const ids = page.rows.map((r) => r.email_account_id)
    expect(ids).not.toContain('tenant-a-mb1')
    expect(page.rows.find((r) => r.email_account_id === 'tenant-a-mb2')?.tracking_days).toBe(3)
  })

  it('defaults the window to end today in the tenant time zone', async () => {
    const page = await data.asTenant('tenant-c', (trx) =>
      warmupPerformance(trx, { tenantId: 'tenant-c', days: 30 }),
    )
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Kolkata' }).format(new Date())
    const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000)
      .toISOString()
      .slice(0, 10)
    expect(page.to).toBe(tomorrow)
  })
})

describe('mailboxes', () => {
  it('equals the reference for every filter and sort, across pages', async () => {
    let compared = 0
    for (const tenant of TENANTS)
      for (const range of [
        { from: '2024-01-01', to: '2024-04-01' },
        { from: '2024-02-10', to: '2024-02-20' },
      ])
        for (const warmupStatus of [undefined, ...MAILBOX_WARMUP_FILTERS])
          for (const sort of Object.keys(MAILBOX_SORTS) as MailboxSort[]) {
            const { rows } = await data.asTenant(tenant.id, (trx) =>
              allPages((cursor) =>
                mailboxes(trx, {
                  tenantId: tenant.id,
                  ...range,
                  warmupStatus,
                  sort,
                  limit: 2,
                  cursor,
                }),
              ),
            )
            const expected = expectedMailboxes(
              data.fixture,
              tenant.id,
              range.from,
              range.to,
            ).filter(
              (m) =>
                warmupStatus === undefined ||
                (warmupStatus === 'none'
                  ? m.warmup_status === null
                  : m.warmup_status === warmupStatus),
            )
            type Row = (typeof expected)[number]
            const order =
              sort === 'address'
                ? byKeys<Row>(
                    (r) => r.address,
                    (r) => r.email_account_id,
                  )
                : sort === 'health_score'
                  ? byKeys<Row>(
                      (r) => r.health_score ?? 101,
                      (r) => r.email_account_id,
                    )
                  : (a: Row, b: Row) =>
                      byKeys<Row>(
                        (r) => r.sent,
                        (r) => r.email_account_id,
                      )(b, a)
            expect(rows).toEqual(expected.sort(order))
            compared += rows.length
          }
    expect(compared).toBeGreaterThan(100)
  })
})

describe('isolation', () => {
  it('returns nothing of tenant B inside tenant A scope, even when asked for B explicitly', async () => {
    const range = { from: '2024-01-01', to: '2024-05-01' }
    const results = await data.asTenant('tenant-a', async (trx) => ({
      usage: await tenantUsage(trx, { tenantId: 'tenant-b', ...range }),
      mailboxes: (await mailboxes(trx, { tenantId: 'tenant-b', ...range })).rows,
      warmup: (await warmupPerformance(trx, { tenantId: 'tenant-b', days: 60, to: '2024-03-20' }))
        .rows,
    }))
    expect(results).toEqual({ usage: [], mailboxes: [], warmup: [] })
  })
})
