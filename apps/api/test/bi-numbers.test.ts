import {
  expectedCampaignLeads,
  expectedCampaignPerformance,
  expectedCampaignTrend,
  expectedMailboxes,
  expectedStepFunnel,
  expectedTenantUsage,
  expectedWarmupPerformance,
} from '@penguinmails/bi-queries/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiHarness, openApiHarness, TENANTS } from './support/api-harness.js'
import { asCsvCells, parseCsv } from './support/csv-parse.js'

let h: ApiHarness
const tokens = new Map<string, string>()
// every tenant read carries the watermark; its values are tested in freshness.test.ts
const FRESHNESS = { as_of: expect.any(String), pending_changes: expect.any(Number) }

beforeAll(async () => {
  h = await openApiHarness({ label: 'api_numbers', seed: 11 })
  for (const t of TENANTS) tokens.set(t.id, await h.token({ tenant_id: t.id, role: 'member' }))
})

afterAll(async () => {
  await h?.close()
})

type Row = Record<string, unknown>

async function json(
  path: string,
  tenantId: string,
): Promise<{ data: Row[]; next_cursor?: string | null } & Row> {
  const response = await h.get(path, tokens.get(tenantId) as string)
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  return (await response.json()) as { data: Row[]; next_cursor?: string | null } & Row
}

/** Every page of a list route, `limit` rows a page. */
async function allPages(path: string, tenantId: string, limit: number): Promise<Row[]> {
  const rows: Row[] = []
  let cursor: string | null | undefined
  do {
    const sep = path.includes('?') ? '&' : '?'
    const page = await json(
      `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      tenantId,
    )
    expect(page.data.length).toBeLessThanOrEqual(limit)
    rows.push(...page.data)
    cursor = page.next_cursor
  } while (cursor)
  return rows
}

async function csv(path: string, tenantId: string, accept = false): Promise<string[][]> {
  const sep = path.includes('?') ? '&' : '?'
  const response = await h.get(
    accept ? path : `${path}${sep}format=csv`,
    tokens.get(tenantId) as string,
    accept ? { accept: 'text/csv' } : {},
  )
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8')
  return parseCsv(await response.text())
}

function expectCsv(table: string[][], rows: Row[]): void {
  const [header, ...body] = table
  expect(header).toEqual(
    Object.keys(rows[0] ?? {}).length > 0 ? Object.keys(rows[0] as Row) : header,
  )
  expect(body).toEqual(rows.map((r) => asCsvCells(r, header as string[])))
}

const byKey =
  (...keys: ((r: Row) => string | number)[]) =>
  (a: Row, b: Row) => {
    for (const k of keys) {
      const x = k(a)
      const y = k(b)
      if (x !== y) return x < y ? -1 : 1
    }
    return 0
  }

describe('every BI route equals the reference computation (H10), as JSON pages and as CSV', () => {
  it('campaign performance', async () => {
    for (const { id } of TENANTS) {
      const expected = (
        expectedCampaignPerformance(h.fixture, id, '2024-01-15', '2024-03-10') as unknown as Row[]
      ).sort(
        byKey(
          (r) => r.volume_rank as number,
          (r) => r.campaign_id as string,
        ),
      )
      const path = '/v1/campaigns/performance?from=2024-01-15&to=2024-03-10'
      expect(await allPages(path, id, 2)).toEqual(expected)
      expectCsv(await csv(path, id), expected)
      expectCsv(await csv(path, id, true), expected)
      const byReply = await allPages(`${path}&sort=reply_rate`, id, 100)
      expect(byReply.map((r) => r.campaign_id)).toEqual(
        [...expected]
          .sort(
            byKey(
              (r) => r.reply_rate_rank as number,
              (r) => r.campaign_id as string,
            ),
          )
          .map((r) => r.campaign_id),
      )
    }
  })

  it('campaign trend, funnel and leads for every campaign', async () => {
    let campaigns = 0
    for (const c of h.fixture.campaigns) {
      const range = 'from=2024-02-20&to=2024-03-12'
      const trend = await json(`/v1/campaigns/${c.id}/trend?${range}`, c.tenant_id)
      const expectedTrend = expectedCampaignTrend(
        h.fixture,
        c.tenant_id,
        c.id,
        '2024-02-20',
        '2024-03-12',
      ) as unknown as Row[]
      expect(trend).toEqual({ data: expectedTrend, freshness: FRESHNESS })
      expectCsv(await csv(`/v1/campaigns/${c.id}/trend?${range}`, c.tenant_id), expectedTrend)
      const funnel = await json(`/v1/campaigns/${c.id}/funnel?${range}`, c.tenant_id)
      expect(funnel).toEqual({
        data: expectedStepFunnel(h.fixture, c.tenant_id, c.id, '2024-02-20', '2024-03-12'),
        freshness: FRESHNESS,
      })
      const leads = expectedCampaignLeads(h.fixture, c.tenant_id, c.id) as unknown as Row[]
      leads.sort((a, b) =>
        byKey(
          (r) => r.last_sent_at as string,
          (r) => r.lead_id as string,
        )(b, a),
      )
      expect(await allPages(`/v1/campaigns/${c.id}/leads`, c.tenant_id, 4)).toEqual(leads)
      if (leads.length > 0) expectCsv(await csv(`/v1/campaigns/${c.id}/leads`, c.tenant_id), leads)
      const replied = await allPages(
        `/v1/campaigns/${c.id}/leads?status=replied&sort=lead_id`,
        c.tenant_id,
        100,
      )
      expect(replied).toEqual(
        (expectedCampaignLeads(h.fixture, c.tenant_id, c.id, 'replied') as unknown as Row[]).sort(
          byKey((r) => r.lead_id as string),
        ),
      )
      campaigns++
    }
    expect(campaigns).toBe(h.fixture.campaigns.length)
  })

  it('usage, warmup and mailboxes', async () => {
    for (const { id } of TENANTS) {
      const usage = await json('/v1/usage?from=2024-01-01&to=2024-05-01', id)
      const expectedUsage = expectedTenantUsage(
        h.fixture,
        id,
        '2024-01-01',
        '2024-05-01',
      ) as unknown as Row[]
      expect(usage).toEqual({ data: expectedUsage, freshness: FRESHNESS })
      expectCsv(await csv('/v1/usage?from=2024-01-01&to=2024-05-01', id), expectedUsage)

      const warmup = expectedWarmupPerformance(h.fixture, id, 30, '2024-03-20') as unknown as Row[]
      expect(await allPages('/v1/warmup?days=30&to=2024-03-20', id, 2)).toEqual(warmup)
      const firstPage = await json('/v1/warmup?days=30&to=2024-03-20&limit=1', id)
      expect(firstPage).toMatchObject({ from: '2024-02-19', to: '2024-03-20' })

      const boxes = (
        expectedMailboxes(h.fixture, id, '2024-02-01', '2024-03-01') as unknown as Row[]
      ).sort(
        byKey(
          (r) => r.address as string,
          (r) => r.email_account_id as string,
        ),
      )
      expect(await allPages('/v1/mailboxes?from=2024-02-01&to=2024-03-01', id, 3)).toEqual(boxes)
      expectCsv(await csv('/v1/mailboxes?from=2024-02-01&to=2024-03-01', id), boxes)
    }
  })

  it('streams a CSV export from a cursor onwards, ignoring the page size', async () => {
    const path = '/v1/campaigns/tenant-a-c0/leads?sort=lead_id'
    const first = await json(`${path}&limit=3`, 'tenant-a')
    const all = await allPages(path, 'tenant-a', 100)
    const rest = await csv(
      `${path}&limit=3&cursor=${encodeURIComponent(first.next_cursor as string)}`,
      'tenant-a',
    )
    expect(rest.slice(1)).toEqual(all.slice(3).map((r) => asCsvCells(r, rest[0] as string[])))
  })
})
