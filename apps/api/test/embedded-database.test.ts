import {
  expectedCampaignPerformance,
  generateAnalyticsFixture,
  writeAnalyticsFixture,
} from '@penguinmails/bi-queries/testing'
import { bootstrapDatabase, createDatabase, type Database, migrate } from '@penguinmails/schema'
import { sign } from 'hono/jwt'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import type { AppContext } from '../src/context.js'
import { createLogger } from '../src/logger.js'
import { HttpMetrics } from '../src/metrics.js'
import { checkDatabase, prepareEmbeddedDatabase } from '../src/preflight.js'
import { ResultCache } from '../src/result-cache.js'
import { JWT_SECRET } from './support/api-harness.js'

const tenants = Array.from({ length: 10 }, (_, i) => ({
  id: `e${i}`,
  time_zone: i % 2 ? 'UTC' : 'Asia/Tokyo',
}))
const fixture = generateAnalyticsFixture({
  seed: 61,
  tenants,
  campaignsPerTenant: 3,
  mailboxesPerTenant: 2,
  leadsPerTenant: 4,
  days: 15,
  firstDay: '2024-02-20',
})
let database: Database

beforeAll(async () => {
  database = createDatabase({ dataDir: 'memory://' })
  // PGlite connects as a superuser: the fixture is written before the session drops to pm_admin
  await bootstrapDatabase(database.db)
  await migrate(database.db, 'latest')
  await writeAnalyticsFixture(database.db, fixture)
  await prepareEmbeddedDatabase(database)
})

afterAll(async () => {
  await database?.destroy()
})

it('runs on the embedded database, passing the start-up checks', async () => {
  // PGlite's one session stays the superuser it connects as (the demo shares it); every request
  // transaction sets its own role, which the next test checks
  const { rows } = await sql<{ u: string }>`select current_user as u`.execute(database.db)
  expect(rows[0]?.u).toBe('postgres')
  await expect(checkDatabase(database)).resolves.toBeUndefined()
})

it('keeps 200 concurrent requests across 10 tenants apart on the embedded database (R3, PGlite)', async () => {
  // what each request transaction runs as, seen from inside it
  const seen: { role: string; tenant: string }[] = []
  const context: AppContext = {
    database,
    hooks: {
      beforeRead: async (trx) => {
        const { rows } = await sql<{ role: string; tenant: string }>`
          select current_user as role, current_setting('app.current_tenant_id') as tenant`.execute(
          trx,
        )
        seen.push(rows[0] as { role: string; tenant: string })
      },
    },
    config: { jwtSecret: JWT_SECRET, statementTimeoutMs: 5000, trustProxy: false },
    logger: createLogger('silent'),
    metrics: new HttpMetrics(),
    recordAudit: async () => {
      throw new Error('no admin requests in this test')
    },
    accepting: true,
    close: async () => {},
  }
  const app = createApp(context)
  const exp = Math.floor(Date.now() / 1000) + 600
  const tokens = await Promise.all(
    tenants.map((t) =>
      sign({ sub: 'u', tenant_id: t.id, role: 'member', exp }, JWT_SECRET, 'HS256'),
    ),
  )
  const responses = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const response = await app.request(
        '/v1/campaigns/performance?from=2024-02-01&to=2024-04-01&sort=campaign_id&limit=100',
        {
          headers: { authorization: `Bearer ${tokens[i % tenants.length]}` },
        },
      )
      return {
        tenant: (tenants[i % tenants.length] as { id: string }).id,
        status: response.status,
        body: (await response.json()) as { data: unknown },
      }
    }),
  )
  for (const r of responses) {
    expect(r.status).toBe(200)
    expect(r.body.data).toEqual(
      expectedCampaignPerformance(fixture, r.tenant, '2024-02-01', '2024-04-01').sort((a, b) =>
        a.campaign_id < b.campaign_id ? -1 : 1,
      ),
    )
  }
  const { rows } = await sql<{ u: string; t: string | null }>`
    select current_user as u, nullif(current_setting('app.current_tenant_id', true), '') as t`.execute(
    database.db,
  )
  expect(rows[0]).toEqual({ u: 'postgres', t: null })
  expect(seen).toHaveLength(200)
  expect(new Set(seen.map((s) => s.role))).toEqual(new Set(['pm_reader']))
  expect(new Set(seen.map((s) => s.tenant))).toEqual(new Set(tenants.map((t) => t.id)))
})

it('serves cached reads on the embedded database too, each tenant its own, a change on the next request', async () => {
  const metrics = new HttpMetrics()
  const context: AppContext = {
    database,
    config: { jwtSecret: JWT_SECRET, statementTimeoutMs: 5000, trustProxy: false },
    logger: createLogger('silent'),
    metrics,
    resultCache: new ResultCache(1024 * 1024),
    recordAudit: async () => {
      throw new Error('no admin requests in this test')
    },
    accepting: true,
    close: async () => {},
  }
  const app = createApp(context)
  const exp = Math.floor(Date.now() / 1000) + 600
  const path = '/v1/campaigns/performance?from=2024-02-01&to=2024-04-01&sort=campaign_id&limit=100'
  const get = async (tenant: string) => {
    const token = await sign(
      { sub: 'u', tenant_id: tenant, role: 'member', exp },
      JWT_SECRET,
      'HS256',
    )
    const response = await app.request(path, { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    return (await response.json()) as { data: { campaign_id: string; sent: number }[] }
  }
  const hits = () =>
    Number(/result_cache_lookups_total\{[^}]*result="hit"\} (\d+)/.exec(metrics.render())?.[1] ?? 0)
  for (let pass = 0; pass < 2; pass++)
    for (const { id } of tenants)
      expect((await get(id)).data).toEqual(
        expectedCampaignPerformance(fixture, id, '2024-02-01', '2024-04-01').sort((a, b) =>
          a.campaign_id < b.campaign_id ? -1 : 1,
        ),
      )
  expect(hits()).toBe(tenants.length)
  const before = await get('e1')
  expect(hits()).toBe(tenants.length + 1)
  await sql`update campaign_analytics set sent = sent + 5 where tenant_id = 'e1'`.execute(
    database.db,
  )
  const after = await get('e1')
  expect(hits()).toBe(tenants.length + 1)
  const total = (b: typeof before) => b.data.reduce((t, r) => t + r.sent, 0)
  expect(total(after)).toBeGreaterThan(total(before))
})
