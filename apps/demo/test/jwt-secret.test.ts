import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verify } from 'hono/jwt'
import { afterAll, describe, expect, it } from 'vitest'
import { signDemoTokens } from '../src/demo-tokens.js'
import { resolveJwtSecret } from '../src/jwt-secret.js'

const folder = mkdtempSync(join(tmpdir(), 'pm-demo-secret-'))

afterAll(() => rmSync(folder, { recursive: true, force: true }))

describe('the demo signing key', () => {
  it('is created once beside the data folder, readable by its owner only, then reused', () => {
    const dataDir = join(folder, 'data', 'pglite')
    const first = resolveJwtSecret(undefined, dataDir)
    expect(first.created).toBe(true)
    expect(first.file).toBe(join(folder, 'data', 'demo-jwt-secret'))
    expect(first.secret.length).toBeGreaterThanOrEqual(32)
    expect(statSync(first.file as string).mode & 0o777).toBe(0o600)
    const again = resolveJwtSecret(undefined, dataDir)
    expect(again).toEqual({ ...first, created: false })
  })

  it('is JWT_SECRET when set, and a fresh one per start for an in-memory database', () => {
    const configured = 'x'.repeat(40)
    expect(resolveJwtSecret(configured, join(folder, 'other', 'pglite'))).toEqual({
      secret: configured,
      file: null,
      created: false,
    })
    const a = resolveJwtSecret(undefined, 'memory://')
    const b = resolveJwtSecret(undefined, 'memory://')
    expect(a.file).toBeNull()
    expect(a.secret).not.toBe(b.secret)
  })

  it('refuses a kept key that is too short, naming the file', () => {
    const dataDir = join(folder, 'short', 'pglite')
    resolveJwtSecret(undefined, dataDir)
    const file = join(folder, 'short', 'demo-jwt-secret')
    writeFileSync(file, 'tiny\n')
    expect(() => resolveJwtSecret(undefined, dataDir)).toThrow(file)
    expect(readFileSync(file, 'utf8')).toBe('tiny\n')
  })

  it('signs a member and an admin token of one tenant that the API key verifies', async () => {
    const secret = 'y'.repeat(40)
    const tokens = await signDemoTokens(secret, 't01', new Date())
    const member = await verify(tokens.member, secret, 'HS256')
    const admin = await verify(tokens.admin, secret, 'HS256')
    expect(member).toMatchObject({ tenant_id: 't01', role: 'member', sub: 'demo-member' })
    expect(admin).toMatchObject({ tenant_id: 't01', role: 'admin', sub: 'demo-admin' })
    expect(member.exp).toBe(Math.floor(tokens.expiresAt.getTime() / 1000))
    expect(tokens.expiresAt.getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000)
  })
})
