import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TokenCache } from '../src/auth/token-cache.js'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

let h: ApiHarness

beforeAll(async () => {
  h = await openApiHarness({ label: 'api_token_cache', seed: 3 })
})

afterAll(async () => {
  await h?.close()
})

const USAGE = '/v1/usage?from=2024-01-01&to=2024-05-01'

describe('verified tokens are remembered, never past their exp', () => {
  it('accepts a remembered token until its exp, then answers 401', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2
    const token = await h.token({ tenant_id: 'tenant-a', role: 'member' }, { exp })
    for (let i = 0; i < 3; i++) {
      const response = await h.get(USAGE, token)
      expect(response.status).toBe(200)
      await response.text()
    }
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50))
    const expired = await h.get(USAGE, token)
    expect(expired.status).toBe(401)
    expect(expired.headers.get('content-type')).toContain('application/problem+json')
  })

  it('a remembered token with its signature altered, or on an admin route, is still refused', async () => {
    const token = await h.token({ tenant_id: 'tenant-a', role: 'member' })
    expect((await h.get(USAGE, token)).status).toBe(200)
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`
    const forged = await h.get(USAGE, `${header}.${payload}.${flipped}`)
    expect(forged.status).toBe(401)
    const unsigned = await h.get(USAGE, `${header}.${payload}.`)
    expect(unsigned.status).toBe(401)
    // the cache remembers who the token is; the role is checked on every request
    const admin = await h.get('/v1/admin/audit-log', token)
    expect(admin.status).toBe(403)
  })
})

describe('TokenCache', () => {
  const claims = (exp: number) => ({ sub: 's', tenant_id: 't', role: 'member' as const, exp })

  it('forgets an entry at its exp (exp <= now is expired, as the verifier has it)', () => {
    const cache = new TokenCache()
    cache.set('tok', claims(1_000))
    expect(cache.get('tok', 999)?.tenant_id).toBe('t')
    expect(cache.get('tok', 1_000)).toBeUndefined()
    expect(cache.get('tok', 999)).toBeUndefined()
  })

  it('holds at most its entry count, dropping the oldest', () => {
    const cache = new TokenCache(3)
    for (const token of ['a', 'b', 'c', 'd']) cache.set(token, claims(10))
    expect(cache.size).toBe(3)
    expect(cache.get('a', 1)).toBeUndefined()
    expect(cache.get('d', 1)).toBeDefined()
  })
})
