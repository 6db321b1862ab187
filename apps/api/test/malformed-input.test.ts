import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestHooks } from '../src/context.js'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'
import { leadOf } from './support/fixture-ids.js'
import { type DocumentedRoute, documentedRoutes, routeUrl } from './support/openapi-routes.js'

let h: ApiHarness
let routes: DocumentedRoute[]
let member: string
let admin: string
const hooks: TestHooks = {}

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_malformed',
    seed: 41,
    hooks,
    fixture: { campaignsPerTenant: 4, days: 40 },
    // every request must reach the database, where H8 forces its failures; result-cache.test.ts
    // covers the cache
    resultCacheBytes: 0,
  })
  OWN.leadId = leadOf(h, OWN.campaignId)
  routes = await documentedRoutes(h)
  member = await h.token({ tenant_id: 'tenant-a', role: 'member' })
  admin = await h.token({ sub: 'admin-1', tenant_id: 'tenant-a', role: 'admin' })
})

afterAll(async () => {
  await h?.close()
})

const OWN = {
  campaignId: 'tenant-a-c0',
  mailboxId: 'tenant-a-mb0',
  // a lead of that campaign, from the fixture (leads are drawn at random)
  leadId: '',
  tenantId: 'tenant-a',
}

/** A problem+json body with type, title, status equal to the HTTP status, and detail. */
async function expectProblem(
  response: Response,
  status?: number,
): Promise<Record<string, unknown>> {
  if (status !== undefined) expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const body = (await response.json()) as Record<string, unknown>
  expect(typeof body.type).toBe('string')
  expect(typeof body.title).toBe('string')
  expect(typeof body.detail).toBe('string')
  expect((body.detail as string).length).toBeGreaterThan(0)
  expect(body.status).toBe(response.status)
  return body
}

const tokenFor = (route: DocumentedRoute) => (route.admin ? admin : member)

const SPECIAL_VALUES = [
  '2024-01-01',
  '2024-02-29',
  '2023-02-29',
  '2024-02-30',
  '2024-13-01',
  '0000-00-00',
  '9999-12-31',
  '2024-1-1',
  '20240101',
  '',
  ' ',
  '0',
  '-1',
  '1.5',
  '1e9',
  '101',
  '100',
  '1',
  'abc',
  'csv',
  'json',
  'xml',
  'volume',
  '-sent',
  'health_score',
  'replied',
  'active',
  'none',
  'true',
  'null',
  '[]',
  '{}',
  "' OR '1'='1",
  "x'); drop table emails; --",
  '%00',
  '%',
  '%ZZ',
  '%E0%A4%A',
  '../../etc/passwd',
  '\u0000',
  'é',
  '🐧',
  'a'.repeat(5000),
]

const valueArb = fc.oneof(
  fc.constantFrom(...SPECIAL_VALUES),
  fc.integer().map(String),
  fc.double().map(String),
  fc
    .date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10)),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
)

/** A plausible value for a documented parameter: from its enum, range or format. */
function plausibleValue(schema: Record<string, unknown>) {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as string[]))
  if (schema.type === 'integer')
    return fc.integer({ min: 0, max: Number(schema.maximum ?? 1000) + 1 }).map(String)
  if (schema.format === 'date')
    return fc
      .date({ min: new Date('2023-06-01'), max: new Date('2024-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10))
  return fc.oneof(fc.constantFrom('tenant-a-c0', 'admin-1', 'read'), fc.string({ maxLength: 10 }))
}

function queryArb(route: DocumentedRoute) {
  const names = route.queryParams.map((p) => p.name)
  const keyArb = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...names) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'tenant_id',
        'limit',
        'cursor',
        'format',
        'sort',
        'from[]',
        'to.x',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  )
  // raw pairs: keys and values either percent-encoded or pasted as they are (&, #, % and all)
  const garbage = fc
    .tuple(keyArb, valueArb, fc.boolean())
    .map(([k, v, raw]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
  // documented parameters with values of the right shape, so the database is reached too
  const plausible = fc.oneof(
    ...route.queryParams.map((p) =>
      plausibleValue(p.schema).map((v) => `${p.name}=${encodeURIComponent(v)}`),
    ),
  )
  return fc.oneof(
    fc.record({ valid: fc.constant(true), pairs: fc.array(plausible, { maxLength: 3 }) }),
    fc.record({ valid: fc.boolean(), pairs: fc.array(garbage, { maxLength: 8 }) }),
  )
}

const pathValueArb = fc.oneof(
  fc.constantFrom(
    'tenant-a-c0',
    'tenant-b-c0',
    'shared-campaign',
    'tenant-b',
    '%2F',
    '..',
    'a'.repeat(300),
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
)

const headerArb = fc.record({
  accept: fc.oneof(
    fc.constantFrom(
      'text/csv',
      'application/json',
      '*/*',
      'text/csv;q=0.1, application/json',
      'text/*',
      'x;;q=y',
      '',
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')),
  ),
})

describe('property: malformed input never gets a 5xx (H1)', () => {
  // 250 requests per route: its time grows with the routes, and with the load of a shared machine
  it('answers every generated request with 2xx or 4xx problem+json, on every route', async () => {
    let requests = 0
    const statuses = new Map<number, number>()
    for (const route of routes.filter((r) => r.secured)) {
      await fc.assert(
        fc.asyncProperty(
          queryArb(route),
          fc.record(Object.fromEntries(route.pathParams.map((p) => [p, pathValueArb]))),
          headerArb,
          async (query, pathValues, headers) => {
            const base = routeUrl(route, OWN)
            let url = route.path
            for (const p of route.pathParams)
              url = url.replace(
                `{${p}}`,
                encodeURIComponent((pathValues as Record<string, string>)[p] as string),
              )
            const validQuery = query.valid ? (base.split('?')[1] ?? '') : ''
            const search = [validQuery, ...query.pairs].filter((s) => s !== '').join('&')
            const response = await h.get(
              `${url}${search ? `?${search}` : ''}`,
              tokenFor(route),
              headers,
            )
            requests++
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
            expect(response.status, `${url}?${search}`).toBeLessThan(500)
            if (response.status >= 400) await expectProblem(response)
            else {
              expect(response.headers.get('content-type')).toMatch(/^(application\/json|text\/csv)/)
              await response.text()
            }
          },
        ),
        { numRuns: 250, seed: 4242 },
      )
    }
    expect(requests).toBe(routes.filter((r) => r.secured).length * 250)
    // the generator reaches both the validation (400) and the database (200, or 404 for the
    // random ids it puts in paths): both outcomes occur often
    const total = [...statuses.values()].reduce((a, b) => a + b, 0)
    const seen = JSON.stringify(Object.fromEntries(statuses))
    expect((statuses.get(200) ?? 0) + (statuses.get(404) ?? 0), seen).toBeGreaterThan(total / 5)
    expect(statuses.get(400) ?? 0, seen).toBeGreaterThan(total / 5)
  }, 300_000)
})

describe('boundaries (H2)', () => {
  const badLimits = ['0', '-1', '1.5', 'abc', '', '101', '1e9']
  it('refuses each bad limit, date and range with 400 naming the parameter, on every list route', async () => {
    let cases = 0
    const check = async (
      route: DocumentedRoute,
      query: Record<string, string>,
      name: string,
      raw?: string,
    ) => {
      const url = raw ?? routeUrl(route, OWN, query)
      const body = await expectProblem(await h.get(url, tokenFor(route)), 400)
      expect(
        (body.errors as { name: string }[]).map((e) => e.name),
        url,
      ).toContain(name)
      expect(body.detail).toContain(`'${name}'`)
      cases++
    }
    for (const route of routes.filter((r) => r.secured)) {
      const names = route.queryParams.map((p) => p.name)
      if (route.paginated) {
        for (const limit of badLimits) await check(route, { limit }, 'limit')
        const base = routeUrl(route, OWN)
        await check(route, {}, 'limit', `${base}${base.includes('?') ? '&' : '?'}limit=1&limit=2`)
        const ok = await h.get(routeUrl(route, OWN, { limit: '100' }), tokenFor(route))
        expect(ok.status).toBe(200)
        await check(route, { cursor: 'not-a-cursor' }, 'cursor')
      }
      if (names.includes('from')) {
        await check(route, { from: '2024-02-30' }, 'from')
        await check(route, { to: '2023-02-29' }, 'to')
        await check(route, { from: '2024-03-01', to: '2024-03-01' }, 'to')
        await check(route, { from: '2024-03-02', to: '2024-03-01' }, 'to')
        await check(route, { from: '2023-01-01', to: '2024-01-03' }, 'to')
        const withoutFrom = routeUrl(route, OWN).replace(/from=[^&]*&?/, '')
        await check(route, {}, 'from', withoutFrom)
        // exactly the longest range (2024 is a leap year: 366 days)
        const max = await h.get(
          routeUrl(route, OWN, { from: '2024-01-01', to: '2025-01-01' }),
          tokenFor(route),
        )
        expect(max.status, route.path).toBe(200)
      }
      if (names.includes('days')) {
        await check(route, { days: '0' }, 'days')
        await check(route, { days: '367' }, 'days')
      }
      await check(route, { bogus: '1' }, 'bogus')
    }
    expect(cases).toBeGreaterThan(150)
  })
})

describe('routing errors (H9) and bodies (H3)', () => {
  it('answers unknown routes 404 and wrong methods 405 with Allow, as problem+json', async () => {
    for (const path of ['/v1/nope', '/v1/campaigns', '/v1/usage/', '/v2/usage', '/']) {
      await expectProblem(await h.get(path, member), 404)
    }
    for (const route of routes) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const response = await h.app.request(routeUrl(route, OWN), {
          method,
          headers: { authorization: `Bearer ${tokenFor(route)}` },
        })
        await expectProblem(response, 405)
        expect(response.headers.get('allow')).toBe('GET, HEAD')
      }
    }
  })

  it('refuses bodies over the limit with 413, declared or chunked', async () => {
    const big = 'x'.repeat(20_000)
    await expectProblem(
      await h.app.request('/v1/usage?from=2024-01-01&to=2024-02-01', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
        body: big,
      }),
      413,
    )
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    await expectProblem(
      await h.app.request('/v1/usage?from=2024-01-01&to=2024-02-01', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: chunks,
        duplex: 'half',
      } as RequestInit),
      413,
    )
  })
})

describe('error bodies leak nothing (H8)', () => {
  const LEAKS = [
    /at [^ ]+ \(/, // stack frames
    /\.(ts|js):\d+/,
    /\b(select|insert|update|delete)\b/i,
    /campaign_analytics|mailbox_analytics|lead_analytics|billing_analytics|admin_audit_log|pg_sleep/,
    /no_such_column|relation|division by zero|SQLSTATE|42703|22012/i,
    /ZodError|kysely|node_modules|postgres:\/\//i,
    /secret internal detail/,
  ]
  const failures: [string, TestHooks['beforeRead']][] = [
    [
      'a failing SQL statement',
      async (trx) => void (await sql`select no_such_column from campaign_analytics`.execute(trx)),
    ],
    ['a SQL runtime error', async (trx) => void (await sql`select 1 / 0`.execute(trx))],
    [
      'a thrown Error',
      async () => {
        throw new Error('secret internal detail at /srv/api/src/x.ts:10')
      },
    ],
  ]

  it('answers forced database errors and thrown errors with a bare 500 problem, and logs them', async () => {
    try {
      for (const [why, failure] of failures) {
        hooks.beforeRead = failure
        for (const route of routes.filter((r) => r.secured)) {
          const response = await h.get(routeUrl(route, OWN), tokenFor(route))
          const text = await response.clone().text()
          expect(response.status, `${why} on ${route.path}`).toBe(500)
          const body = await expectProblem(response, 500)
          for (const leak of LEAKS) expect(text, `${why}: ${leak}`).not.toMatch(leak)
          const logged = h.logs.filter((l) => l.requestId === response.headers.get('x-request-id'))
          expect(logged.map((l) => l.message)).toContain('request failed')
          expect(String(body.instance)).toBe(`urn:uuid:${response.headers.get('x-request-id')}`)
        }
      }
    } finally {
      hooks.beforeRead = undefined
    }
  })

  it('answers validation errors naming parameters but not internals', async () => {
    const response = await h.get('/v1/mailboxes?from=2024-01-01&to=x&limit=%27%3B%20select', member)
    const text = await response.clone().text()
    await expectProblem(response, 400)
    for (const leak of LEAKS.slice(0, 2).concat(LEAKS.slice(3))) expect(text).not.toMatch(leak)
  })
})
