import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { createLogger } from '../src/logger.js'
import { createRedisRateLimiter } from '../src/rate-limit.js'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

const LIMIT = 5
// an hour-long window: the test cannot straddle a window boundary except by extreme bad luck
const WINDOW_SECONDS = 3600
const prefix = `pm-test-api-${randomBytes(4).toString('hex')}:`
let h: ApiHarness
const clients: Redis[] = []

function instance() {
  const redis = new Redis('redis://127.0.0.1:6379', { commandTimeout: 1000 })
  clients.push(redis)
  const limiter = createRedisRateLimiter(
    redis,
    { limit: LIMIT, windowSeconds: WINDOW_SECONDS, prefix },
    createLogger('silent'),
  )
  return createApp({ ...h.context, rateLimiter: limiter })
}

beforeAll(async () => {
  h = await openApiHarness({ label: 'api_ratelimit', fixture: { campaignsPerTenant: 2, days: 10 } })
})

afterAll(async () => {
  const cleanup = clients[0]
  if (cleanup) {
    const keys = await cleanup.keys(`${prefix}*`)
    if (keys.length > 0) await cleanup.del(...keys)
  }
  for (const c of clients) c.disconnect()
  await h?.close()
})

it('limits a tenant across two API instances sharing Redis, and not the other tenant (H7)', async () => {
  const apps = [instance(), instance()]
  const a = await h.token({ tenant_id: 'tenant-a', role: 'member' })
  const b = await h.token({ tenant_id: 'tenant-b', role: 'member' })
  const get = (i: number, token: string) =>
    (apps[i % 2] as ReturnType<typeof createApp>).request(
      '/v1/usage?from=2024-01-01&to=2024-05-01',
      {
        headers: { authorization: `Bearer ${token}` },
      },
    )
  for (let i = 0; i < LIMIT; i++) {
    const ok = await get(i, a)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('ratelimit-limit')).toBe(String(LIMIT))
    expect(ok.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1 - i))
  }
  const refused = await get(LIMIT, a)
  expect(refused.status).toBe(429)
  expect(refused.headers.get('content-type')).toBe('application/problem+json')
  const retryAfter = Number(refused.headers.get('retry-after'))
  expect(retryAfter).toBeGreaterThan(0)
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS)
  expect(refused.headers.get('ratelimit-remaining')).toBe('0')
  expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter))
  expect(await refused.json()).toMatchObject({ status: 429, title: 'Too many requests' })
  expect((await get(LIMIT + 1, b)).status).toBe(200)
})

it('lets requests through when Redis does not answer, and says so in the log', async () => {
  const dead = new Redis('redis://127.0.0.1:1', {
    commandTimeout: 200,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  dead.on('error', () => {})
  clients.push(dead)
  const lines: string[] = []
  const limiter = createRedisRateLimiter(
    dead,
    { limit: 1, windowSeconds: 60, prefix },
    createLogger('warn', (l) => lines.push(l)),
  )
  const app = createApp({ ...h.context, rateLimiter: limiter })
  const token = await h.token({ tenant_id: 'tenant-c', role: 'member' })
  for (let i = 0; i < 3; i++) {
    const response = await app.request('/v1/usage?from=2024-01-01&to=2024-05-01', {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('ratelimit-limit')).toBeNull()
  }
  expect(lines.join('\n')).toMatch(/rate limiter unavailable/)
})
