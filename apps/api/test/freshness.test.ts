import { tenantFreshness } from '@penguinmails/bi-queries'
import { type DB, ROLES, withTenant } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { drainAll, insertEmail } from './support/aggregated-emails.js'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

let h: ApiHarness
let writer: Kysely<DB>
const tokens = new Map<string, string>()
const RANGE = 'from=2024-02-01&to=2024-03-01'

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_freshness',
    seed: 5,
    fixture: { campaignsPerTenant: 2, mailboxesPerTenant: 2, leadsPerTenant: 3 },
  })
  writer = h.database.connect(ROLES.writer).db
  for (const tenant of ['tenant-a', 'tenant-b'])
    tokens.set(tenant, await h.token({ tenant_id: tenant, role: 'member' }))
  tokens.set('admin', await h.token({ tenant_id: 'tenant-a', role: 'admin' }))
})

afterAll(async () => {
  await h?.close()
})

async function databaseNow(): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select clock_timestamp() as now`.execute(writer)
  return new Date((rows[0] as { now: Date }).now)
}

async function watermark(tenant: string, path = `/v1/campaigns/performance?${RANGE}`) {
  const response = await h.get(path, tokens.get(tenant) as string)
  expect(response.status).toBe(200)
  const body = (await response.json()) as {
    data: { campaign_id: string; sent: number; replied: number }[]
    freshness: { as_of: string; pending_changes: number }
  }
  // the headers and the body tell the same
  expect(response.headers.get('x-analytics-as-of')).toBe(body.freshness.as_of)
  expect(response.headers.get('x-analytics-pending-changes')).toBe(
    String(body.freshness.pending_changes),
  )
  return { ...body.freshness, data: body.data }
}

async function oldestKey(tenant: string): Promise<string> {
  const { rows } = await sql<{ oldest: Date }>`
    select min(created_at) as oldest from analytics_dirty_keys where tenant_id = ${tenant}`.execute(
    h.database.connect().db,
  )
  return new Date((rows[0] as { oldest: Date }).oldest).toISOString()
}

describe('the freshness watermark', () => {
  it('goes stale when an email changes, stays put while changes wait, and is fresh once drained', async () => {
    await drainAll(writer)
    const beforeFresh = await databaseNow()
    const fresh = await watermark('tenant-a')
    expect(fresh.pending_changes).toBe(0)
    expect(new Date(fresh.as_of).getTime()).toBeGreaterThanOrEqual(beforeFresh.getTime())

    // a new email: its campaign-day, mailbox-day, lead-campaign and billing-month keys wait
    await insertEmail(h, writer, 'tenant-a', 1001)
    const stale = await watermark('tenant-a')
    expect(stale.pending_changes).toBe(4)
    expect(stale.as_of).toBe(await oldestKey('tenant-a'))
    expect(new Date(stale.as_of).getTime()).toBeLessThanOrEqual((await databaseNow()).getTime())
    // the analytics do not show it yet
    expect(stale.data.reduce((t, r) => t + r.sent, 0)).toBe(0)

    // a reply arrives: more changes wait (not the billing month: no billed column changed), and
    // as_of does not move forward
    await writer
      .updateTable('emails')
      .set({ replied_at: new Date('2024-02-11T09:00:00Z') })
      .where('tenant_id', '=', 'tenant-a')
      .where('id', '=', '1001')
      .execute()
    const staler = await watermark('tenant-a')
    expect(staler.pending_changes).toBe(7)
    expect(staler.as_of).toBe(stale.as_of)

    // another tenant's watermark is its own: nothing waits for tenant-b
    expect((await watermark('tenant-b')).pending_changes).toBe(0)

    const beforeDrain = await databaseNow()
    await drainAll(writer)
    const drained = await watermark('tenant-a')
    expect(drained.pending_changes).toBe(0)
    expect(new Date(drained.as_of).getTime()).toBeGreaterThan(beforeDrain.getTime())
    expect(drained.data.map((r) => [r.sent, r.replied])).toEqual([[1, 1]])
  })

  it('is on every tenant route, CSV exports and admin reads of a tenant included', async () => {
    await insertEmail(h, writer, 'tenant-b', 2001)
    const pending = (await watermark('tenant-b')).pending_changes
    expect(pending).toBe(4)
    const campaign = h.fixture.campaigns.find((c) => c.tenant_id === 'tenant-b')?.id as string
    for (const path of [
      `/v1/campaigns/${campaign}/trend?${RANGE}`,
      `/v1/campaigns/${campaign}/funnel?${RANGE}`,
      `/v1/campaigns/${campaign}/leads`,
      `/v1/usage?${RANGE}`,
      '/v1/warmup?days=30&to=2024-03-01',
      `/v1/mailboxes?${RANGE}`,
    ])
      expect((await watermark('tenant-b', path)).pending_changes).toBe(pending)
    const csv = await h.get(`/v1/mailboxes?${RANGE}&format=csv`, tokens.get('tenant-b') as string)
    expect(csv.headers.get('content-type')).toContain('text/csv')
    expect(csv.headers.get('x-analytics-pending-changes')).toBe(String(pending))
    expect(csv.headers.get('x-analytics-as-of')).toBe(await oldestKey('tenant-b'))
    await csv.text()
    const admin = await h.get(
      `/v1/admin/tenants/tenant-b/mailboxes?${RANGE}`,
      tokens.get('admin') as string,
    )
    expect(((await admin.json()) as { freshness: unknown }).freshness).toEqual({
      as_of: await oldestKey('tenant-b'),
      pending_changes: pending,
    })
    // the admin tables are not a tenant's analytics: no watermark there
    const audit = await h.get('/v1/admin/audit-log', tokens.get('admin') as string)
    expect(audit.headers.get('x-analytics-as-of')).toBeNull()
    await audit.text()
  })

  it('never shows a tenant another tenant’s pending changes (pm_reader, row level security)', async () => {
    await insertEmail(h, writer, 'tenant-a', 1002)
    await insertEmail(h, writer, 'tenant-b', 2002)
    const reader = h.database.connect(ROLES.reader).db
    const asB = await withTenant(reader, 'tenant-b', (trx) => tenantFreshness(trx, 'tenant-b'))
    expect(asB.pending_changes).toBeGreaterThan(0)
    // tenant-a's reader asking for tenant-b's watermark sees no row of it
    const asA = await withTenant(reader, 'tenant-a', (trx) => tenantFreshness(trx, 'tenant-b'))
    expect(asA.pending_changes).toBe(0)
    const visible = await withTenant(reader, 'tenant-a', (trx) =>
      sql<{ tenants: string[] }>`
        select coalesce(array_agg(distinct tenant_id), '{}') as tenants from analytics_dirty_keys`.execute(
        trx,
      ),
    )
    expect(visible.rows[0]?.tenants).toEqual(['tenant-a'])
  })

  it('is documented in the OpenAPI document: headers and body field of every tenant read', async () => {
    const response = await h.get('/openapi.json', null)
    const doc = (await response.json()) as {
      paths: Record<string, { get: { responses: Record<string, Record<string, unknown>> } }>
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> }
    }
    const tenantReads = Object.keys(doc.paths).filter(
      (path) =>
        path.startsWith('/v1/') &&
        (!path.startsWith('/v1/admin/') || path.startsWith('/v1/admin/tenants/')),
    )
    expect(tenantReads.length).toBeGreaterThanOrEqual(14)
    for (const path of tenantReads) {
      const ok = doc.paths[path]?.get.responses['200'] as {
        headers?: Record<string, unknown>
        content: Record<string, { schema: { $ref?: string } }>
      }
      expect(Object.keys(ok.headers ?? {}), path).toEqual([
        'x-analytics-as-of',
        'x-analytics-pending-changes',
      ])
      const ref = ok.content['application/json']?.schema.$ref?.split('/').pop() as string
      expect(doc.components.schemas[ref]?.properties, path).toHaveProperty('freshness')
    }
    expect(doc.components.schemas.Freshness?.properties).toHaveProperty('as_of')
    const audit = doc.paths['/v1/admin/audit-log']?.get.responses['200'] as {
      headers?: Record<string, unknown>
    }
    expect(audit.headers).toBeUndefined()
  })
})
