import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  isSecretKey,
  REDACTED,
  recordAuditEntry,
  recordSystemEvent,
  redactSecrets,
  redactText,
  toJsonValue,
  verifyAuditChain,
} from '../src/index.js'
import type { AnyDb } from './support/chain.js'

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbi0xIn0.c2lnbmF0dXJlLXZhbHVl'

describe('redactSecrets', () => {
  it('redacts the values of secret keys at any depth, in arrays too, whatever their case', () => {
    expect(
      redactSecrets({
        user: 'ada',
        password: 'hunter2',
        PASSWORD: 'x',
        newPassword: 'x',
        api_key: 'k',
        'X-Api-Key': 'k',
        apiKey: 'k',
        client_secret: 's',
        AWS_SECRET_ACCESS_KEY: 's',
        accessToken: 't',
        refresh_token: 't',
        csrfToken: 't',
        token: 't',
        Authorization: 'Bearer abc',
        cookie: 'sid=1',
        'Set-Cookie': ['a=1', 'b=2'],
        private_key: { kty: 'RSA' },
        credentials: { user: 'u', pass: 'p' },
        nested: [{ deeper: { secret: 's', keep: 'me' } }, [{ passwd: 'x' }]],
        pwd: 'x',
        otp: '123456',
        unset: { password: null },
      }),
    ).toEqual({
      user: 'ada',
      password: REDACTED,
      PASSWORD: REDACTED,
      newPassword: REDACTED,
      api_key: REDACTED,
      'X-Api-Key': REDACTED,
      apiKey: REDACTED,
      client_secret: REDACTED,
      AWS_SECRET_ACCESS_KEY: REDACTED,
      accessToken: REDACTED,
      refresh_token: REDACTED,
      csrfToken: REDACTED,
      token: REDACTED,
      Authorization: REDACTED,
      cookie: REDACTED,
      'Set-Cookie': REDACTED,
      private_key: REDACTED,
      credentials: REDACTED,
      nested: [{ deeper: { secret: REDACTED, keep: 'me' } }, [{ passwd: REDACTED }]],
      pwd: REDACTED,
      otp: REDACTED,
      unset: { password: null },
    })
  })

  it('leaves alone keys that only look alike', () => {
    const value = {
      tokenTenantId: 't-1',
      tokenCount: 3,
      keyword: 'k',
      monkey: 'm',
      author: 'a',
      passengers: 2,
      sessionId: 's',
      requestId: 'r',
      pinned: true,
    }
    expect(redactSecrets(value)).toEqual(value)
  })

  it('redacts the value of a {name, value} header entry naming a secret', () => {
    expect(
      redactSecrets({
        headers: [
          { name: 'Authorization', value: 'Bearer abc' },
          { name: 'Accept', value: 'text/html' },
          { key: 'x-api-key', value: 'k' },
        ],
      }),
    ).toEqual({
      headers: [
        { name: 'Authorization', value: REDACTED },
        { name: 'Accept', value: 'text/html' },
        { key: 'x-api-key', value: REDACTED },
      ],
    })
  })

  it('redacts secrets inside text', () => {
    expect(redactText('Authorization: Bearer abcdefghijklmnop')).toBe(
      `Authorization: Bearer ${REDACTED}`,
    )
    expect(redactText(`token was ${JWT} yesterday`)).toBe(`token was ${REDACTED} yesterday`)
    expect(redactText('postgres://app:s3cr3t@db.internal:5432/pm')).toBe(
      `postgres://app:${REDACTED}@db.internal:5432/pm`,
    )
    expect(redactText('Basic dXNlcjpwYXNz')).toBe(REDACTED)
    expect(redactText('-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----')).toBe(
      REDACTED,
    )
    expect(redactText('basic YWRtaW46cGFzcw==')).toBe(REDACTED)
    for (const harmless of [
      'basic plan',
      'Basic Information',
      'bearer of bad news',
      'https://example.com/a:b',
      'eyJ',
    ]) {
      expect(redactText(harmless)).toBe(harmless)
    }
    expect(redactSecrets({ note: 'Bearer abcdefghijklmnop' })).toEqual({
      note: `Bearer ${REDACTED}`,
    })
  })

  it('turns any value into JSON first', () => {
    const circular: Record<string, unknown> = { a: 1 }
    circular.self = circular
    expect(
      toJsonValue({
        at: new Date('2025-03-01T09:30:00.123Z'),
        big: 12345678901234567890n,
        map: new Map([['k', 1]]),
        set: new Set([1, 2]),
        error: new TypeError('boom'),
        nothing: undefined,
        fn: () => 1,
        nan: Number.NaN,
        bytes: Buffer.from('abc'),
        nul: 'a\u0000b',
        lone: 'x\ud800y',
        list: [undefined, 1],
        circular,
      }),
    ).toEqual({
      at: '2025-03-01T09:30:00.123Z',
      big: '12345678901234567890',
      map: { k: 1 },
      set: [1, 2],
      error: { name: 'TypeError', message: 'boom' },
      nan: null,
      bytes: '[binary 3 bytes]',
      nul: 'a\uFFFDb',
      lone: 'x\uFFFDy',
      list: [null, 1],
      circular: { a: 1, self: '[Circular]' },
    })
    // a key named __proto__ stays a plain key
    expect(
      Object.keys(redactSecrets(JSON.parse('{"__proto__": {"password": "x"}}')) as object),
    ).toEqual(['__proto__'])
  })
})

describe('in the database', () => {
  let database: TestDatabase
  let superuser: AnyDb

  beforeAll(async () => {
    database = await createTestDatabase({ label: 'audit_redaction' })
    superuser = database.connect().db
  })

  afterAll(async () => {
    await database?.drop()
  })

  const CORPUS: unknown[] = [
    { password: 'x', user: 'u', nested: [{ Api_Key: 'k' }, 'Bearer abcdefghijklmn'] },
    {
      headers: [
        { name: 'Cookie', value: 'sid=1' },
        { NAME: 'set-cookie', Value: 'x' },
        { name: 'Accept', value: 'a' },
      ],
    },
    { tokenTenantId: 't', tokenCount: 1, keyword: 'k', p_w_d: 'x', 'p\nwd': 'y', 'pass word': 'z' },
    { url: 'mysql://root:pw@host/db', jwt: JWT, text: `see ${JWT}`, basic: 'Basic dXNlcjpwYXNz' },
    {
      plan: 'Basic plan',
      title: 'Basic Information',
      auth: 'basic YWRtaW46cGFzcw==',
      x: 'Basic YWRtaW46',
    },
    {
      pem: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----',
      n: 1.5,
      b: true,
      z: null,
    },
    ['Bearer abcdefghijklmn', { secret: { deep: 1 } }, [[{ refreshTokens: ['a'] }]]],
    'postgres://a:b@c/d',
    'Bearer\u00a0abcdefghijklmn and Bearer\tabcdefghijklmn',
    ' basic\tYWRtaW46cGFzcw== \n',
    'nothing to see',
    { ünïcödé: 'Passwort', emoji: '🔑 key', Ключ: 'значение', CVV: 123 },
    { author: 'a', monkey: 'b', passengers: 2, pinned: false, signatureless: 's', signature: 's' },
  ]

  it('the database redacts exactly as redactSecrets does (the same rules twice)', async () => {
    for (const value of CORPUS) {
      const { rows } = await sql<{
        r: unknown
      }>`select pm_audit_redact(${JSON.stringify(value)}::jsonb) as r`.execute(superuser)
      expect(rows[0]?.r, JSON.stringify(value)).toEqual(redactSecrets(value))
    }
    const keys = CORPUS.flatMap((v) => (v && typeof v === 'object' ? Object.keys(v) : []))
    const { rows } = await sql<{ k: string; secret: boolean }>`
      select k, pm_audit_is_secret_key(k) as secret from unnest(${keys}::text[]) as k`.execute(
      superuser,
    )
    for (const { k, secret } of rows) expect(secret, k).toBe(isSecretKey(k))
  })

  it('what is stored is redacted, whether written through recordAuditEntry or a plain INSERT', async () => {
    const admin = database.connect(ROLES.admin).db
    await recordAuditEntry(database.connect(ROLES.writer).db, {
      adminId: 'admin-1',
      action: 'integration.update',
      resourceType: 'integration',
      oldValues: { apiKey: 'old-key', name: 'CRM' },
      newValues: { apiKey: 'new-key', name: 'CRM', webhook: 'https://u:pw@hooks.example/x' },
      notes: 'rotated; was Bearer abcdefghijklmnop',
      metadata: { headers: { authorization: 'Bearer abcdefghijklmnop' }, requestId: 'r-1' },
    })
    await sql`insert into admin_audit_log (admin_id, action, resource_type, old_values, metadata, notes)
              values ('admin-2', 'raw.insert', 'integration', '{"Password": "p", "ok": 1}',
                      '{"cookie": "sid=1"}', ${`token ${JWT}`})`.execute(admin)
    await recordSystemEvent(admin, {
      eventType: 'incident',
      severity: 'critical',
      title: 'leaked postgres://app:pw@db/pm',
      description: 'Bearer abcdefghijklmnop seen in logs',
      metadata: { secret: 's', host: 'db' },
    })
    const { rows } = await sql<{ t: string }>`
      select to_jsonb(a)::text as t from admin_audit_log a
      union all select to_jsonb(e)::text from admin_system_events e`.execute(admin)
    const stored = rows.map((r) => r.t).join('\n')
    for (const secret of [
      'old-key',
      'new-key',
      ':pw@',
      'abcdefghijklmnop',
      '"p"',
      'sid=1',
      JWT,
      '"s"',
    ]) {
      expect(stored).not.toContain(secret)
    }
    expect(stored).toContain('"name": "CRM"')
    expect(stored).toContain('"requestId": "r-1"')
    expect((await verifyAuditChain(admin)).ok).toBe(true)
  })
})
