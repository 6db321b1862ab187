import {
  expectedCampaignPerformance,
  expectedMailboxes,
  expectedTenantUsage,
} from '@penguinmails/bi-queries/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

const TENANT_COUNT = 50
const REQUESTS = 1000
const tenants = Array.from({ length: TENANT_COUNT }, (_, i) => ({
  id: `t${String(i).padStart(2, '0')}`,
  time_zone: i % 3 === 0 ? 'UTC' : i % 3 === 1 ? 'Europe/Berlin' : 'America/Los_Angeles',
}))

let h: ApiHarness

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_pool',
    seed: 31,
    tenants,
    fixture: {
      campaignsPerTenant: 3,
      mailboxesPerTenant: 2,
      leadsPerTenant: 4,
      days: 20,
      firstDay: '2024-02-20',
    },
  })
})

afterAll(async () => {
  await h?.close()
})

const ROUTES = [
  {
    path: '/v1/campaigns/performance?from=2024-02-01&to=2024-04-01&limit=100&sort=campaign_id',
    expected: (t: string) =>
      expectedCampaignPerformance(h.fixture, t, '2024-02-01', '2024-04-01').sort((a, b) =>
        a.campaign_id < b.campaign_id ? -1 : 1,
      ),
  },
  {
    path: '/v1/mailboxes?from=2024-02-01&to=2024-04-01&limit=100',
    expected: (t: string) =>
      expectedMailboxes(h.fixture, t, '2024-02-01', '2024-04-01').sort((a, b) =>
        a.address < b.address ? -1 : 1,
      ),
  },
  {
    path: '/v1/usage?from=2024-01-01&to=2024-05-01',
    expected: (t: string) => expectedTenantUsage(h.fixture, t, '2024-01-01', '2024-05-01'),
  },
]

it('answers 1,000 concurrent requests across 50 tenants through a pool of 5 with only each tenant’s rows (R3)', async () => {
  const tokens = await Promise.all(tenants.map((t) => h.token({ tenant_id: t.id, role: 'member' })))
  const results = await Promise.all(
    Array.from({ length: REQUESTS }, async (_, i) => {
      const tenant = (tenants[i % TENANT_COUNT] as { id: string }).id
      const route = ROUTES[Math.floor(i / TENANT_COUNT) % ROUTES.length] as (typeof ROUTES)[number]
      const response = await h.get(route.path, tokens[i % TENANT_COUNT] as string)
      return {
        tenant,
        route,
        status: response.status,
        body: (await response.json()) as { data: unknown[] },
      }
    }),
  )
  let exact = 0
  for (const { tenant, route, status, body } of results) {
    expect(status).toBe(200)
    expect(body.data).toEqual(route.expected(tenant))
    // ids carry their tenant (but for the id all tenants share): nothing of another tenant shows
    const foreign =
      JSON.stringify(body)
        .match(/\bt\d\d\b/g)
        ?.filter((id) => id !== tenant) ?? []
    expect(foreign).toEqual([])
    exact++
  }
  expect(exact).toBe(REQUESTS)
  expect(new Set(results.map((r) => r.tenant)).size).toBe(TENANT_COUNT)

  // every connection of the pool went back with no tenant, role or timeout left on it: six
  // concurrent probes reach all five connections, and no sixth (the pool has five)
  const sessions = await Promise.all(
    Array.from({ length: 6 }, () =>
      sql<{ pid: number; role: string; tenant: string | null; timeout: string; idle: string }>`
        select pg_backend_pid() as pid, current_user as role,
               nullif(current_setting('app.current_tenant_id', true), '') as tenant,
               current_setting('statement_timeout') as timeout,
               current_setting('idle_in_transaction_session_timeout') as idle
          from pg_sleep(0.2)`.execute(h.api.db),
    ),
  )
  const rows = sessions.map((s) => s.rows[0])
  expect(new Set(rows.map((r) => r?.pid)).size).toBe(5)
  for (const r of rows)
    expect(r).toMatchObject({ role: 'pm_admin', tenant: null, timeout: '0', idle: '0' })
})
