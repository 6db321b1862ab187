import { expectedCampaignPerformance } from '@penguinmails/bi-queries/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'
import { leadOf } from './support/fixture-ids.js'
import { type DocumentedRoute, documentedRoutes, routeUrl } from './support/openapi-routes.js'

let h: ApiHarness
let routes: DocumentedRoute[]
let admin: string
let member: string

interface Entry {
  admin_id: string
  action: string
  resource_type: string
  resource_id: string | null
  tenant_id: string | null
  ip_address: string | null
  user_agent: string | null
  outcome: string | null
  status: string | null
}

const superuser = () => h.database.connect().db
let seen = 0

/** Audit entries written since the last call, oldest first. */
async function newEntries(): Promise<Entry[]> {
  const { rows } = await sql<Entry & { id: string }>`
    select id, admin_id, action, resource_type, resource_id, tenant_id, host(ip_address) as ip_address,
           user_agent, metadata->>'outcome' as outcome, metadata->>'status' as status
      from admin_audit_log where id > ${seen} order by id`.execute(superuser())
  if (rows.length > 0) seen = Number(rows[rows.length - 1]?.id)
  return rows.map(({ id: _id, ...entry }) => entry)
}

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_audit',
    seed: 51,
    fixture: { campaignsPerTenant: 3, days: 20 },
  })
  routes = await documentedRoutes(h)
  admin = await h.token({ sub: 'admin-42', tenant_id: 'tenant-a', role: 'admin' })
  member = await h.token({ tenant_id: 'tenant-a', role: 'member' })
})

beforeEach(async () => {
  await newEntries()
})

afterAll(async () => {
  await h?.close()
})

describe('admin reads are audited', () => {
  it('returns another tenant’s numbers to an admin and records who read what', async () => {
    const response = await h.get(
      '/v1/admin/tenants/tenant-b/campaigns/performance?from=2024-01-01&to=2024-04-01&sort=campaign_id&limit=100',
      admin,
      {
        'user-agent': 'audit-test/1.0',
      },
    )
    expect(response.status).toBe(200)
    expect(((await response.json()) as { data: unknown }).data).toEqual(
      expectedCampaignPerformance(h.fixture, 'tenant-b', '2024-01-01', '2024-04-01').sort((a, b) =>
        a.campaign_id < b.campaign_id ? -1 : 1,
      ),
    )
    expect(await newEntries()).toEqual([
      {
        admin_id: 'admin-42',
        action: 'read',
        resource_type: 'campaign_performance',
        resource_id: null,
        tenant_id: 'tenant-b',
        ip_address: null,
        user_agent: 'audit-test/1.0',
        outcome: 'success',
        status: null,
      },
    ])
  })

  it('writes exactly one entry per admin request on every admin route, and none for members (A7)', async () => {
    const adminRoutes = routes.filter((r) => r.admin)
    for (const route of adminRoutes) {
      const response = await h.get(
        routeUrl(route, {
          tenantId: 'tenant-c',
          campaignId: 'tenant-c-c0',
          mailboxId: 'tenant-c-mb0',
          leadId: leadOf(h, 'tenant-c-c0'),
        }),
        admin,
      )
      expect(response.status, route.path).toBe(200)
      await response.text()
      const entries = await newEntries()
      expect(entries, route.path).toHaveLength(1)
      expect(entries[0]).toMatchObject({ admin_id: 'admin-42', action: 'read', outcome: 'success' })
      if (route.pathParams.includes('tenantId')) expect(entries[0]?.tenant_id).toBe('tenant-c')
      // the campaign, or a lead of it: 'tenant-c-c0/<lead id>'
      if (route.pathParams.includes('campaignId'))
        expect(entries[0]?.resource_id).toMatch(/^tenant-c-c0(\/|$)/)
    }
    for (const route of routes.filter((r) => r.secured && !r.admin)) {
      expect(
        (
          await h.get(
            routeUrl(route, {
              campaignId: 'tenant-a-c0',
              mailboxId: 'tenant-a-mb0',
              leadId: leadOf(h, 'tenant-a-c0'),
            }),
            member,
          )
        ).status,
      ).toBe(200)
    }
    expect(await newEntries()).toEqual([])
  })

  it('audits exports and failures too: one entry each, with the outcome', async () => {
    const csv = await h.get(
      '/v1/admin/tenants/tenant-b/mailboxes?from=2024-01-01&to=2024-04-01&format=csv',
      admin,
    )
    expect(csv.status).toBe(200)
    await csv.text()
    const missing = await h.get(
      '/v1/admin/tenants/tenant-b/campaigns/tenant-a-c0/trend?from=2024-01-01&to=2024-02-01',
      admin,
    )
    expect(missing.status).toBe(404)
    const invalid = await h.get('/v1/admin/activity?from=2024-01-01&to=2023-01-01', admin)
    expect(invalid.status).toBe(400)
    expect(await newEntries()).toMatchObject([
      { action: 'export', resource_type: 'mailboxes', tenant_id: 'tenant-b', outcome: 'success' },
      {
        action: 'read',
        resource_type: 'campaign_trend',
        resource_id: 'tenant-a-c0',
        tenant_id: 'tenant-b',
        outcome: 'failure',
        status: '404',
      },
      {
        action: 'read',
        resource_type: 'admin_activity',
        tenant_id: null,
        outcome: 'failure',
        status: '400',
      },
    ])
  })

  it('an admin token on a tenant route is audited against the token’s tenant', async () => {
    expect((await h.get('/v1/usage?from=2024-01-01&to=2024-05-01', admin)).status).toBe(200)
    expect(await newEntries()).toMatchObject([
      {
        admin_id: 'admin-42',
        resource_type: 'tenant_usage',
        tenant_id: 'tenant-a',
        outcome: 'success',
      },
    ])
  })

  it('returns nothing when the audit entry cannot be written (same transaction)', async () => {
    const failing = createApp({
      ...h.context,
      recordAudit: async (trx, entry) => {
        await h.context.recordAudit(trx, entry)
        throw new Error('audit store rejected the entry')
      },
    })
    const response = await failing.request(
      '/v1/admin/tenants/tenant-b/usage?from=2024-01-01&to=2024-05-01',
      {
        headers: { authorization: `Bearer ${admin}` },
      },
    )
    expect(response.status).toBe(500)
    expect(await response.text()).not.toMatch(/tenant-b:/)
    // the entry written in the read's transaction rolled back with it; both attempts failed
    expect(await newEntries()).toEqual([])
  })
})
