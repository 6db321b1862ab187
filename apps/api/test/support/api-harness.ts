import type { OpenAPIHono } from '@hono/zod-openapi'
import { recordAuditEntry } from '@penguinmails/audit-logger'
import type { AnalyticsFixture, FixtureTenant } from '@penguinmails/bi-queries/testing'
import { generateAnalyticsFixture, writeAnalyticsFixture } from '@penguinmails/bi-queries/testing'
import { type Database, ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sign } from 'hono/jwt'
import { createApp } from '../../src/app.js'
import type { AppEnv } from '../../src/app-env.js'
import type { AppContext, TestHooks } from '../../src/context.js'
import { createLogger } from '../../src/logger.js'
import { HttpMetrics } from '../../src/metrics.js'
import { ResultCache } from '../../src/result-cache.js'

export const JWT_SECRET = 'test-secret-of-at-least-thirty-two-characters'

export const TENANTS: FixtureTenant[] = [
  { id: 'tenant-a', time_zone: 'UTC' },
  { id: 'tenant-b', time_zone: 'America/New_York' },
  { id: 'tenant-c', time_zone: 'Asia/Kolkata' },
]

export interface HarnessOptions {
  label: string
  seed?: number
  tenants?: FixtureTenant[]
  fixture?: Partial<Parameters<typeof generateAnalyticsFixture>[0]>
  statementTimeoutMs?: number
  hooks?: TestHooks
  config?: Partial<AppContext['config']>
  /** the result cache's budget; 0 turns it off (default: on, 64 MiB, as in production) */
  resultCacheBytes?: number
}

export interface ApiHarness {
  app: OpenAPIHono<AppEnv>
  context: AppContext
  database: TestDatabase
  /** the API's pool: the admin role, 5 connections */
  api: Database
  fixture: AnalyticsFixture
  /** log lines the API wrote */
  logs: Record<string, unknown>[]
  token(
    claims: { sub?: string; tenant_id: string; role: 'member' | 'admin' },
    extra?: Record<string, unknown>,
  ): Promise<string>
  get(path: string, token: string | null, headers?: Record<string, string>): Promise<Response>
  close(): Promise<void>
}

/** A database of its own with a random analytics fixture, and the API over it (no port). */
export async function openApiHarness(options: HarnessOptions): Promise<ApiHarness> {
  const database = await createTestDatabase({ label: options.label })
  const fixture = generateAnalyticsFixture({
    seed: options.seed ?? 1,
    tenants: options.tenants ?? TENANTS,
    ...options.fixture,
  })
  await writeAnalyticsFixture(database.connect().db, fixture)
  const api = database.connect(ROLES.admin)
  const logs: Record<string, unknown>[] = []
  const context: AppContext = {
    database: api,
    config: {
      jwtSecret: JWT_SECRET,
      statementTimeoutMs: options.statementTimeoutMs ?? 5000,
      trustProxy: false,
      ...options.config,
    },
    logger: createLogger('debug', (line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
    metrics: new HttpMetrics(),
    resultCache: new ResultCache(options.resultCacheBytes ?? 64 * 1024 * 1024),
    recordAudit: recordAuditEntry,
    ...(options.hooks ? { hooks: options.hooks } : {}),
    accepting: true,
    // the test database's drop() closes the pool
    close: async () => {},
  }
  const app = createApp(context)
  return {
    app,
    context,
    database,
    api,
    fixture,
    logs,
    token: (claims, extra = {}) =>
      sign(
        {
          sub: claims.sub ?? `user-of-${claims.tenant_id}`,
          tenant_id: claims.tenant_id,
          role: claims.role,
          exp: Math.floor(Date.now() / 1000) + 3600,
          ...(context.config.jwtIssuer ? { iss: context.config.jwtIssuer } : {}),
          ...(context.config.jwtAudience ? { aud: context.config.jwtAudience } : {}),
          ...extra,
        },
        JWT_SECRET,
        'HS256',
      ),
    get: async (path, token, headers = {}) =>
      app.request(path, {
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      }),
    close: () => database.drop(),
  }
}
