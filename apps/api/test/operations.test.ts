import { createDatabase } from '@penguinmails/schema'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { EnvError, readEnv } from '../src/env.js'
import { type ApiHarness, JWT_SECRET, openApiHarness } from './support/api-harness.js'

let h: ApiHarness

beforeAll(async () => {
  h = await openApiHarness({ label: 'api_ops', fixture: { campaignsPerTenant: 2, days: 10 } })
})

afterAll(async () => {
  await h?.close()
})

describe('health, readiness and metrics', () => {
  it('answers /healthz and /readyz, and /readyz 503 once shutting down', async () => {
    expect(await (await h.get('/healthz', null)).json()).toEqual({ status: 'ok' })
    expect(await (await h.get('/readyz', null)).json()).toEqual({ status: 'ready' })
    h.context.accepting = false
    try {
      const draining = await h.get('/readyz', null)
      expect(draining.status).toBe(503)
      expect(draining.headers.get('content-type')).toBe('application/problem+json')
    } finally {
      h.context.accepting = true
    }
  })

  it('answers /readyz 503 and tenant reads 503 problem+json when the database is unreachable', async () => {
    const unreachable = createDatabase({
      databaseUrl: 'postgres://pm_admin@127.0.0.1:1/none',
      maxConnections: 1,
    })
    const app = createApp({ ...h.context, database: unreachable })
    try {
      const ready = await app.request('/readyz')
      expect(ready.status).toBe(503)
      expect(ready.headers.get('retry-after')).toBe('5')
      const token = await h.token({ tenant_id: 'tenant-a', role: 'member' })
      const read = await app.request('/v1/usage?from=2024-01-01&to=2024-02-01', {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(read.status).toBe(503)
      const body = await read.json()
      expect(body).toMatchObject({ status: 503, title: 'Service unavailable' })
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|pm_admin/)
    } finally {
      await unreachable.destroy()
    }
  })

  it('counts requests and latency by route pattern and status in Prometheus format', async () => {
    const token = await h.token({ tenant_id: 'tenant-a', role: 'member' })
    for (let i = 0; i < 3; i++)
      await h.get('/v1/campaigns/tenant-a-c0/trend?from=2024-02-01&to=2024-02-03', token)
    await h.get('/v1/campaigns/tenant-a-c0/trend?from=bad&to=2024-02-03', token)
    await h.get('/v1/nowhere', token)
    const response = await h.get('/metrics', null)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await response.text()
    const route = 'route="/v1/campaigns/:campaignId/trend"'
    expect(text).toContain(`http_requests_total{method="GET",${route},status="200"} 3`)
    expect(text).toContain(`http_requests_total{method="GET",${route},status="400"} 1`)
    expect(text).toContain('http_requests_total{method="GET",route="unmatched",status="404"} 1')
    expect(text).toContain(
      `http_request_duration_seconds_count{method="GET",${route},status="200"} 3`,
    )
    expect(text).toContain(
      `http_request_duration_seconds_bucket{method="GET",${route},status="200",le="+Inf"} 3`,
    )
    expect(text).toMatch(/# TYPE http_request_duration_seconds histogram/)
    expect(text).not.toContain('tenant-a-c0')
  })
})

describe('documentation', () => {
  it('serves OpenAPI 3.1 generated from the route schemas', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: a JSON document explored by the test
    const doc = (await (await h.get('/openapi.json', null)).json()) as any
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    })
    const performance = doc.paths['/v1/campaigns/performance'].get
    expect(performance.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['from', 'to', 'limit', 'cursor', 'format', 'sort']),
    )
    expect(Object.keys(performance.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '404', '504']),
    )
    expect(Object.keys(performance.responses['200'].content)).toEqual([
      'application/json',
      'text/csv',
    ])
    expect(doc.components.schemas.CampaignPerformanceRow.properties.open_rate).toBeDefined()
    const limit = performance.parameters.find((p: { name: string }) => p.name === 'limit')
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 })
  })

  it('serves an interactive reference from local files, without a CDN', async () => {
    const page = await h.get('/docs', null)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).not.toMatch(/https?:\/\//)
    for (const asset of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const response = await h.get(asset[1] as string, null)
      expect(response.status, asset[1]).toBe(200)
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100)
    }
    expect((await h.get('/docs/package.json', null)).status).toBe(404)
  })
})

describe('configuration', () => {
  it('names what is missing or wrong', () => {
    expect(() => readEnv({})).toThrow(/JWT_SECRET is required/)
    expect(() => readEnv({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32/)
    const error = (() => {
      try {
        readEnv({
          JWT_SECRET,
          PORT: 'eighty',
          DATABASE_URL: 'mysql://x',
          STATEMENT_TIMEOUT_MS: '1',
        })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(EnvError)
    expect((error as EnvError).problems.join('\n')).toMatch(/PORT must be a whole number/)
    expect((error as EnvError).problems.join('\n')).toMatch(
      /DATABASE_URL must be a postgres:\/\/ URL/,
    )
    expect((error as EnvError).problems.join('\n')).toMatch(
      /STATEMENT_TIMEOUT_MS must be at least 10/,
    )
  })

  it('has defaults for everything but the secret', () => {
    const env = readEnv({ JWT_SECRET, DATABASE_URL: '' })
    // an empty DATABASE_URL means the embedded database
    expect(env.DATABASE_URL).toBeUndefined()
    expect(env).toMatchObject({
      PORT: 3000,
      STATEMENT_TIMEOUT_MS: 5000,
      DATABASE_POOL_SIZE: 10,
      TRUST_PROXY: false,
    })
  })
})
