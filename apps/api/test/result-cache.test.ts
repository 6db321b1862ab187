import { type DB, ROLES } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResultCache, resultCacheKey } from '../src/result-cache.js'
import { drainAll, insertEmail } from './support/aggregated-emails.js'
import { type ApiHarness, openApiHarness, TENANTS } from './support/api-harness.js'

let h: ApiHarness
let writer: Kysely<DB>
const tokens = new Map<string, string>()
const RANGE = 'from=2024-02-01&to=2024-03-01'
const PERFORMANCE = `/v1/campaigns/performance?${RANGE}`
const USAGE = `/v1/usage?${RANGE}`

interface Body {
  data: { campaign_id?: string; campaign_name?: string; sent?: number; emails_sent?: number }[]
  freshness: { as_of: string; pending_changes: number }
  [field: string]: unknown
}

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_result_cache',
    seed: 9,
    fixture: { campaignsPerTenant: 3, mailboxesPerTenant: 2, leadsPerTenant: 3 },
  })
  writer = h.database.connect(ROLES.writer).db
  for (const { id } of TENANTS) tokens.set(id, await h.token({ tenant_id: id, role: 'member' }))
  tokens.set('admin', await h.token({ tenant_id: 'tenant-a', role: 'admin' }))
  // the fixture's analytics are not backed by source emails (a drain recomputes them away): give
  // each tenant one aggregated email
  for (const [i, { id }] of TENANTS.entries()) await insertEmail(h, writer, id, 4001 + i)
  await drainAll(writer)
})

afterAll(async () => {
  await h?.close()
})

/** The result cache's lookups so far, from /metrics. */
async function lookups(route: string): Promise<{ hit: number; miss: number }> {
  const text = await (await h.get('/metrics', null)).text()
  const count = (result: string) =>
    Number(
      new RegExp(
        `^api_result_cache_lookups_total\\{route="${route}",result="${result}"\\} (\\d+)$`,
        'm',
      ).exec(text)?.[1] ?? 0,
    )
  return { hit: count('hit'), miss: count('miss') }
}

/** GETs `path` as `who` and tells whether the cache served it. */
async function read(path: string, who: string): Promise<{ body: Body; hit: boolean }> {
  const route = path.startsWith('/v1/usage') ? 'tenant_usage' : 'campaign_performance'
  const before = await lookups(route)
  const response = await h.get(path, tokens.get(who) as string)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await response.json()) as Body
  expect(response.headers.get('x-analytics-pending-changes')).toBe(
    String(body.freshness.pending_changes),
  )
  expect(response.headers.get('x-analytics-as-of')).toBe(body.freshness.as_of)
  const after = await lookups(route)
  return { body, hit: after.hit === before.hit + 1 }
}

const data = (body: Body) => {
  const { freshness: _freshness, ...rest } = body
  return rest
}

describe('the per-tenant result cache', () => {
  it('serves a repeat from the cache with a live watermark, and an aggregated change on the very next request', async () => {
    await drainAll(writer)
    const first = await read(PERFORMANCE, 'tenant-a')
    expect(first.hit).toBe(false)
    const second = await read(PERFORMANCE, 'tenant-a')
    expect(second.hit).toBe(true)
    expect(data(second.body)).toEqual(data(first.body))
    expect(first.body.data.length).toBeGreaterThan(0)
    const sentBefore = first.body.data.reduce((t, r) => t + (r.sent ?? 0), 0)

    // a source change not yet aggregated: the data version is unchanged, so a hit, and its
    // watermark is read live: the pending changes show on the hit
    await insertEmail(h, writer, 'tenant-a', 5001)
    const pending = await read(PERFORMANCE, 'tenant-a')
    expect(pending.hit).toBe(true)
    // its campaign day, mailbox day, lead and billing month
    expect(pending.body.freshness.pending_changes).toBe(4)
    expect(data(pending.body)).toEqual(data(first.body))

    // the aggregator applies it: the very next request shows it
    await drainAll(writer)
    const aggregated = await read(PERFORMANCE, 'tenant-a')
    expect(aggregated.hit).toBe(false)
    expect(aggregated.body.freshness.pending_changes).toBe(0)
    expect(aggregated.body.data.reduce((t, r) => t + (r.sent ?? 0), 0)).toBe(sentBefore + 1)
    const again = await read(PERFORMANCE, 'tenant-a')
    expect(again.hit).toBe(true)
    expect(data(again.body)).toEqual(data(aggregated.body))
  })

  it('shows the drained change in usage too, and another tenant’s entries stay valid', async () => {
    await drainAll(writer)
    const usageBefore = await read(USAGE, 'tenant-b')
    const otherBefore = await read(USAGE, 'tenant-c')
    expect((await read(USAGE, 'tenant-b')).hit).toBe(true)
    expect((await read(USAGE, 'tenant-c')).hit).toBe(true)
    await insertEmail(h, writer, 'tenant-b', 6001)
    await drainAll(writer)
    const usageAfter = await read(USAGE, 'tenant-b')
    expect(usageAfter.hit).toBe(false)
    const emails = (b: Body) => b.data.reduce((t, r) => t + (r.emails_sent ?? 0), 0)
    expect(emails(usageAfter.body)).toBe(emails(usageBefore.body) + 1)
    // tenant-c's data did not change: its entry still serves
    const other = await read(USAGE, 'tenant-c')
    expect(other.hit).toBe(true)
    expect(data(other.body)).toEqual(data(otherBefore.body))
  })

  it('shows a campaign renamed in the source (read live by the query) on the next request', async () => {
    const campaign = h.fixture.campaigns.find((c) => c.tenant_id === 'tenant-c') as { id: string }
    await read(PERFORMANCE, 'tenant-c')
    expect((await read(PERFORMANCE, 'tenant-c')).hit).toBe(true)
    await writer
      .updateTable('campaigns')
      .set({ name: 'Renamed for the cache test' })
      .where('tenant_id', '=', 'tenant-c')
      .where('id', '=', campaign.id)
      .execute()
    const renamed = await read(PERFORMANCE, 'tenant-c')
    expect(renamed.hit).toBe(false)
    expect(renamed.body.data.find((r) => r.campaign_id === campaign.id)?.campaign_name).toBe(
      'Renamed for the cache test',
    )
  })

  it('keys by the validated parameters: another range, page size or comparison is another entry', async () => {
    await read(PERFORMANCE, 'tenant-a')
    const other = await read(`/v1/campaigns/performance?from=2024-02-02&to=2024-03-01`, 'tenant-a')
    expect(other.hit).toBe(false)
    const paged = await read(`${PERFORMANCE}&limit=1`, 'tenant-a')
    expect(paged.hit).toBe(false)
    expect(paged.body.data).toHaveLength(1)
    const compared = await read(`${PERFORMANCE}&compare=previous`, 'tenant-a')
    expect(compared.hit).toBe(false)
    expect(compared.body).toHaveProperty('comparison')
    const comparedAgain = await read(`${PERFORMANCE}&compare=previous`, 'tenant-a')
    expect(comparedAgain.hit).toBe(true)
    expect(data(comparedAgain.body)).toEqual(data(compared.body))
    // the same parameters in another order are the same entry
    expect(
      (await read(`/v1/campaigns/performance?to=2024-03-01&from=2024-02-01`, 'tenant-a')).hit,
    ).toBe(true)
  })

  it('never serves one tenant’s cached body to another, under 600 concurrent requests', async () => {
    const expected = new Map<string, Body>()
    for (const { id } of TENANTS) {
      const first = await read(PERFORMANCE, id)
      expected.set(id, first.body)
      const ownCampaigns = new Set(
        h.fixture.campaigns.filter((c) => c.tenant_id === id).map((c) => c.id),
      )
      expect(first.body.data.length).toBeGreaterThan(0)
      for (const row of first.body.data)
        expect(ownCampaigns.has(row.campaign_id as string)).toBe(true)
    }
    const before = await lookups('campaign_performance')
    const responses = await Promise.all(
      Array.from({ length: 600 }, async (_, i) => {
        const tenant = TENANTS[i % TENANTS.length]?.id as string
        const response = await h.get(PERFORMANCE, tokens.get(tenant) as string)
        return { tenant, status: response.status, body: (await response.json()) as Body }
      }),
    )
    for (const { tenant, status, body } of responses) {
      expect(status).toBe(200)
      expect(data(body)).toEqual(data(expected.get(tenant) as Body))
    }
    const after = await lookups('campaign_performance')
    expect(after.hit - before.hit).toBe(600)
  })

  it('never caches an admin’s read: each reads the database and writes its audit entry', async () => {
    const audited = async () =>
      Number(
        (
          await sql<{ n: number }>`select count(*)::int as n from admin_audit_log`.execute(
            h.database.connect().db,
          )
        ).rows[0]?.n,
      )
    const before = await lookups('campaign_performance')
    const entries = await audited()
    for (let i = 0; i < 2; i++) {
      const response = await h.get(PERFORMANCE, tokens.get('admin') as string)
      expect(response.status).toBe(200)
      await response.json()
    }
    expect(await audited()).toBe(entries + 2)
    expect(await lookups('campaign_performance')).toEqual(before)
  })

  it('reports its size in /metrics', async () => {
    const text = await (await h.get('/metrics', null)).text()
    expect(text).toMatch(/^# TYPE api_result_cache_lookups_total counter$/m)
  })
})

describe('ResultCache', () => {
  const entry = (tenantId: string, version: string, size: number) => ({
    tenantId,
    version,
    head: `{"data":[${'x'.repeat(size)}]`,
    tail: '',
  })

  it('holds at most its byte budget, forgetting the least recently used first', () => {
    const cache = new ResultCache(3_000)
    cache.set('a', entry('t', '1', 900))
    cache.set('b', entry('t', '1', 900))
    cache.set('c', entry('t', '1', 900))
    expect(cache.bytes).toBeLessThanOrEqual(3_000)
    expect(cache.peek('a', 't')).toBeDefined()
    cache.set('d', entry('t', '1', 900))
    // b was the least recently used
    expect(cache.peek('b', 't')).toBeUndefined()
    expect(cache.peek('a', 't')).toBeDefined()
    expect(cache.peek('d', 't')).toBeDefined()
    expect(cache.bytes).toBeLessThanOrEqual(3_000)
    // larger than the whole budget: not stored, nothing evicted for it
    cache.set('huge', entry('t', '1', 5_000))
    expect(cache.peek('huge', 't')).toBeUndefined()
    expect(cache.entries).toBe(3)
  })

  it('stores nothing with a budget of 0, and checks the tenant on every lookup', () => {
    const off = new ResultCache(0)
    off.set('a', entry('t', '1', 10))
    expect(off.enabled).toBe(false)
    expect(off.peek('a', 't')).toBeUndefined()
    const cache = new ResultCache(10_000)
    cache.set('k', entry('tenant-a', '1', 10))
    expect(cache.peek('k', 'tenant-b')).toBeUndefined()
    expect(cache.peek('k', 'tenant-a')?.version).toBe('1')
  })

  it('keys tell tenants, roles, routes and parameters apart, whatever their order', () => {
    const key = resultCacheKey('t', 'member', '/r', { from: '2024-01-01', to: '2024-02-01' })
    expect(resultCacheKey('t', 'member', '/r', { to: '2024-02-01', from: '2024-01-01' })).toBe(key)
    expect(
      resultCacheKey('t', 'member', '/r', { to: '2024-02-01', from: '2024-01-01', format: 'json' }),
    ).toBe(key)
    expect(resultCacheKey('t2', 'member', '/r', { from: '2024-01-01', to: '2024-02-01' })).not.toBe(
      key,
    )
    expect(resultCacheKey('t', 'admin', '/r', { from: '2024-01-01', to: '2024-02-01' })).not.toBe(
      key,
    )
    // a tenant id cannot smuggle a separator: the parts are JSON-encoded
    expect(resultCacheKey('t","member', '/r', '', {})).not.toBe(
      resultCacheKey('t', 'member', '/r', {}),
    )
  })
})
