import { recomputeAll } from '@penguinmails/aggregator'
import { generateSourceData } from '@penguinmails/data-generator'
import { ROLES } from '@penguinmails/schema'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

let h: ApiHarness

interface ForecastBody {
  data: {
    measure: string
    month_to_date: number
    projected: number | null
    lower: number | null
    upper: number | null
  }[]
  period: string
  through: string
  days_elapsed: number
  days_remaining: number
  method: string
  plan_limit: {
    limit: number
    reached_on: string | null
    projected_crossing: string | null
    probability_exceeded: number
  } | null
}

beforeAll(async () => {
  h = await openApiHarness({ label: 'api_forecast', tenants: [] })
  await generateSourceData(h.database.url(), {
    seed: 3,
    tenants: 2,
    emails: 4000,
    days: 60,
    end: '2026-03-31',
    campaigns: 8,
  })
  await recomputeAll(h.database.connect(ROLES.writer).db)
})

afterAll(async () => {
  await h?.close()
})

describe('GET /v1/forecast', () => {
  it('projects the month of through with an interval, and the plan limit crossing', async () => {
    const member = await h.token({ tenant_id: 't02', role: 'member' })
    const { rows } = await sql<{ n: number }>`
      select coalesce(sum(sent), 0)::int as n from campaign_analytics
       where tenant_id = 't02' and day >= '2026-03-01' and day < '2026-03-11'`.execute(
      h.database.connect().db,
    )
    const mtd = rows[0]?.n ?? 0
    expect(mtd).toBeGreaterThan(0)
    const response = await h.get(`/v1/forecast?through=2026-03-11&plan_limit=${mtd + 1}`, member)
    expect(response.status).toBe(200)
    const body = (await response.json()) as ForecastBody
    expect(body).toMatchObject({
      period: '2026-03',
      through: '2026-03-11',
      days_elapsed: 10,
      days_remaining: 21,
    })
    expect(body.method).toMatch(/weekday-aware/)
    const emails = body.data[0]
    expect(emails).toMatchObject({ measure: 'emails_sent', month_to_date: mtd })
    expect(emails?.lower).toBeLessThanOrEqual(emails?.projected ?? -1)
    expect(emails?.upper).toBeGreaterThanOrEqual(emails?.projected ?? Number.POSITIVE_INFINITY)
    expect(body.data.slice(1).every((r) => r.projected === null)).toBe(true)
    // one email past month-to-date: crossed on the first day with a send after through
    expect(body.plan_limit?.reached_on).toBeNull()
    expect(body.plan_limit?.projected_crossing).toMatch(/^2026-03-(1[1-9]|2\d|3[01])$/)
    expect(body.plan_limit?.probability_exceeded).toBeGreaterThan(0.5)
  })

  it('shows a member its own tenant only, and admins any tenant', async () => {
    const t01 = await h.token({ tenant_id: 't01', role: 'member' })
    const admin = await h.token({ sub: 'admin-1', tenant_id: 't01', role: 'admin' })
    const own = (await (await h.get('/v1/forecast?through=2026-03-11', t01)).json()) as ForecastBody
    const asAdmin = (await (
      await h.get('/v1/admin/tenants/t02/forecast?through=2026-03-11', admin)
    ).json()) as ForecastBody
    const t02 = (await (
      await h.get(
        '/v1/forecast?through=2026-03-11',
        await h.token({ tenant_id: 't02', role: 'member' }),
      )
    ).json()) as ForecastBody
    expect(asAdmin.data).toEqual(t02.data)
    expect(own.data[0]?.month_to_date).not.toBe(t02.data[0]?.month_to_date)
    expect((await h.get('/v1/admin/tenants/t02/forecast', t01)).status).toBe(403)
  })

  it('refuses bad parameters with 400 problem+json naming them', async () => {
    const member = await h.token({ tenant_id: 't01', role: 'member' })
    for (const [query, name] of [
      ['plan_limit=0', 'plan_limit'],
      ['plan_limit=-5', 'plan_limit'],
      ['window_days=400', 'window_days'],
      ['window_days=3', 'window_days'],
      ['through=2026-02-30', 'through'],
    ] as const) {
      const response = await h.get(`/v1/forecast?${query}`, member)
      expect(response.status, query).toBe(400)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      const body = (await response.json()) as { errors: { name: string }[] }
      expect(body.errors.map((e) => e.name)).toContain(name)
    }
  })
})
