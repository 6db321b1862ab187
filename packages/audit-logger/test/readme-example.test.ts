import { createDatabase, ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  exportChainHead,
  parseChainHead,
  recordAuditEntry,
  startSession,
  verifyAuditChain,
} from '../src/index.js'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_readme' })
  await sql`
    insert into tenants (id, name) values ('t-1', 'Acme');
    insert into companies (tenant_id, id, name) values ('t-1', 'co-1', 'Acme');
    insert into campaigns (tenant_id, id, company_id, name, status) values ('t-1', 'c-9', 'co-1', 'Spring', 'active')`.execute(
    database.connect().db,
  )
})

afterAll(async () => {
  await database?.drop()
})

it('the example of the README runs as written (as pm_writer)', async () => {
  const printed: string[] = []
  const console = {
    log: (...a: unknown[]) =>
      printed.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')),
    error: (...a: unknown[]) => printed.push(`ERROR ${JSON.stringify(a)}`),
  }
  const process = { env: { DATABASE_URL: database.url(ROLES.writer) } }

  // --- from README.md ---
  const { db, destroy } = createDatabase({ databaseUrl: process.env.DATABASE_URL }) // as pm_writer or pm_admin

  // the change and its audit entry commit together, or not at all
  await db.transaction().execute(async (trx) => {
    await sql`update campaigns set status = 'paused' where tenant_id = 't-1' and id = 'c-9'`.execute(
      trx,
    )
    const entry = await recordAuditEntry(trx, {
      adminId: 'admin-42',
      action: 'campaign.pause',
      resourceType: 'campaign',
      resourceId: 'c-9',
      tenantId: 't-1',
      oldValues: { status: 'active' },
      newValues: { status: 'paused', apiKey: 'sk_live_…' }, // stored as "[REDACTED]"
      ipAddress: '203.0.113.7',
      userAgent: 'Mozilla/5.0',
      metadata: { requestId: 'req-1' },
    })
    console.log(entry) // { id: '…', seq: '…', rowHash: '…' }
  })

  const session = await startSession(db, { adminId: 'admin-42', ttlSeconds: 3600 })

  // an auditor keeps this JSON outside the database (a file, a ticket, a signed mail)…
  const head = await exportChainHead(db)
  console.log(JSON.stringify(head)) // {"version":1,"seq":"…","rowHash":"…","at":"…"}

  // …and later proves that nothing up to that entry was changed since
  const result = await verifyAuditChain(db, { anchor: parseChainHead(JSON.stringify(head)) })
  if (!result.ok) console.error(result.firstBad) // e.g. { seq: '17', reason: 'altered', detail: '…' }
  await destroy()
  // --- end ---

  expect(result.ok).toBe(true)
  expect(session.active).toBe(true)
  expect(printed[0]).toMatch(/^\{"id":"\d+","seq":"1","rowHash":"[0-9a-f]{64}"\}$/)
  expect(JSON.parse(printed[1] as string)).toMatchObject({ version: 1, seq: '1' })
  const { rows } = await sql<{
    new_values: unknown
  }>`select new_values from admin_audit_log`.execute(database.connect().db)
  expect(rows).toEqual([{ new_values: { status: 'paused', apiKey: '[REDACTED]' } }])
})
