import { createHmac } from 'node:crypto'
import { sign } from 'hono/jwt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiHarness, JWT_SECRET, openApiHarness } from './support/api-harness.js'
import { leadOf } from './support/fixture-ids.js'
import { type DocumentedRoute, documentedRoutes, routeUrl } from './support/openapi-routes.js'

let h: ApiHarness
let routes: DocumentedRoute[]
const ISSUER = 'https://auth.penguinmails.test'
const AUDIENCE = 'penguinmails-analytics'

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_isolation',
    seed: 21,
    config: { jwtIssuer: ISSUER, jwtAudience: AUDIENCE },
  })
  OWN.leadId = leadOf(h, OWN.campaignId)
  OTHER.leadId = leadOf(h, OTHER.campaignId)
  routes = await documentedRoutes(h)
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
const OTHER = {
  campaignId: 'tenant-b-c0',
  mailboxId: 'tenant-b-mb0',
  leadId: '',
  tenantId: 'tenant-b',
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function hmac(alg: 'sha256' | 'sha512', input: string, key: string): string {
  return createHmac(alg, key).update(input).digest('base64url')
}

/** Tokens that must all be refused with 401, by what is wrong with them. */
async function badTokens(): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000)
  const claims = { sub: 'u1', tenant_id: 'tenant-a', role: 'member', iss: ISSUER, aud: AUDIENCE }
  const valid = await sign({ ...claims, exp: now + 600 }, JWT_SECRET, 'HS256')
  const [header, payload] = valid.split('.') as [string, string, string]
  const forgedPayload = b64({ ...claims, tenant_id: 'tenant-b', exp: now + 600 })
  const hs512Header = b64({ alg: 'HS512', typ: 'JWT' })
  const hs512Body = b64({ ...claims, exp: now + 600 })
  return {
    'not a JWT': 'not-a-token',
    'two segments': `${header}.${payload}`,
    expired: await sign({ ...claims, exp: now - 10 }, JWT_SECRET, 'HS256'),
    'nbf in the future': await sign(
      { ...claims, exp: now + 600, nbf: now + 300 },
      JWT_SECRET,
      'HS256',
    ),
    'wrong issuer': await sign(
      { ...claims, iss: 'https://evil.test', exp: now + 600 },
      JWT_SECRET,
      'HS256',
    ),
    'wrong audience': await sign(
      { ...claims, aud: 'another-api', exp: now + 600 },
      JWT_SECRET,
      'HS256',
    ),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${hs512Body}.`,
    'alg none with a signature': `${b64({ alg: 'none', typ: 'JWT' })}.${hs512Body}.${hmac('sha256', 'x', JWT_SECRET)}`,
    'HS512 with the right secret': `${hs512Header}.${hs512Body}.${hmac('sha512', `${hs512Header}.${hs512Body}`, JWT_SECRET)}`,
    // what an HS256/RS256 confusion attack signs with: a public key as the HMAC secret
    'HS256 signed with another key': await sign(
      { ...claims, exp: now + 600 },
      '-----BEGIN PUBLIC KEY-----MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA-----END PUBLIC KEY-----',
      'HS256',
    ),
    'RS256 header': `${b64({ alg: 'RS256', typ: 'JWT' })}.${hs512Body}.${hmac('sha256', 'x', JWT_SECRET)}`,
    'tampered payload': `${header}.${forgedPayload}.${valid.split('.')[2]}`,
    'no exp': await sign({ ...claims }, JWT_SECRET, 'HS256'),
    'no tenant_id': await sign(
      { sub: 'u1', role: 'member', iss: ISSUER, aud: AUDIENCE, exp: now + 600 },
      JWT_SECRET,
      'HS256',
    ),
    'unknown role': await sign({ ...claims, role: 'owner', exp: now + 600 }, JWT_SECRET, 'HS256'),
  }
}

async function expectProblem(response: Response, status: number): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const body = (await response.json()) as Record<string, unknown>
  expect(body).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  })
  return body
}

describe('every documented route', () => {
  it('is enumerated from /openapi.json, and every /v1 route of the router is documented and secured', () => {
    const documented = new Set(routes.map((r) => r.path.replace(/\{(\w+)\}/g, ':$1')))
    const served = h.app.routes.filter((r) => r.method === 'GET' && r.path.startsWith('/v1'))
    expect(served.length).toBeGreaterThan(10)
    for (const r of served) expect(documented, r.path).toContain(r.path)
    for (const r of routes.filter((r) => r.path.startsWith('/v1')))
      expect(r.secured, r.path).toBe(true)
    expect(routes.filter((r) => r.admin).length).toBeGreaterThan(5)
  })

  it('answers 401 problem+json to a missing, malformed, forged, expired or wrong-algorithm token (H5)', async () => {
    const tokens = await badTokens()
    let checked = 0
    for (const route of routes.filter((r) => r.secured)) {
      const url = routeUrl(route, OWN)
      const none = await h.get(url, null)
      await expectProblem(none, 401)
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
      await expectProblem(await h.get(url, null, { authorization: `Basic ${b64('a:b')}` }), 401)
      for (const [why, token] of Object.entries(tokens)) {
        const response = await h.get(url, token)
        expect(response.status, `${why} on ${route.path}`).toBe(401)
        await expectProblem(response, 401)
        checked++
      }
    }
    expect(checked).toBe(routes.filter((r) => r.secured).length * Object.keys(tokens).length)
  })

  it('answers 403 to a member token on every admin route (R8)', async () => {
    const member = await h.token({ tenant_id: 'tenant-a', role: 'member' })
    for (const route of routes.filter((r) => r.admin))
      for (const target of [OWN, OTHER])
        await expectProblem(await h.get(routeUrl(route, target), member), 403)
  })

  it('never shows tenant A a row of tenant B, and answers B ids like unknown ids (R8)', async () => {
    const member = await h.token({ tenant_id: 'tenant-a', role: 'member' })
    const tenantRoutes = routes.filter((r) => r.secured && !r.admin)
    for (const route of tenantRoutes) {
      for (const format of ['json', 'csv']) {
        const response = await h.get(routeUrl(route, OWN, { format }), member)
        expect(response.status, route.path).toBe(200)
        const body = await response.text()
        expect(body.length).toBeGreaterThan(20)
        expect(body, route.path).not.toMatch(/tenant-[bc]/)
      }
      if (route.pathParams.length === 0) continue
      const other = await h.get(routeUrl(route, OTHER), member)
      const otherBody = await expectProblem(other, 404)
      const unknown = await expectProblem(
        await h.get(
          routeUrl(route, {
            campaignId: 'no-such-campaign',
            mailboxId: 'no-such-mailbox',
            leadId: 'no-such-lead',
          }),
          member,
        ),
        404,
      )
      expect({ ...otherBody, instance: null }).toEqual({ ...unknown, instance: null })
      expect(JSON.stringify(otherBody)).not.toMatch(/tenant-b/)
    }
    // a member token ignores any tenant named elsewhere: there is no way to ask for another tenant
    const spoof = await h.get('/v1/usage?from=2024-01-01&to=2024-05-01&tenant_id=tenant-b', member)
    await expectProblem(spoof, 400)
  })

  it('lets admins read any tenant only through the admin routes', async () => {
    const admin = await h.token({ sub: 'admin-7', tenant_id: 'tenant-a', role: 'admin' })
    for (const route of routes.filter((r) => r.pathParams.includes('tenantId'))) {
      const response = await h.get(routeUrl(route, OTHER), admin)
      expect(response.status, `${route.path}: ${await response.clone().text()}`).toBe(200)
      expect(await response.text()).not.toMatch(/tenant-[ac]/)
    }
  })
})
