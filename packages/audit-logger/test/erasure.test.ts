import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChainHead,
  ERASURE_ACTION,
  erasePersonalData,
  exportChainHead,
  recordAuditEntry,
  recordSystemEvent,
  startSession,
  verifyAuditChain,
} from '../src/index.js'
import { type AnyDb, chainFacts, errorCode, tamper } from './support/chain.js'

// identifiers that cannot occur by chance in hex digests or timestamps
const T = 'tenant-Xq-erase'
const LEAD = 'lead-Xq-0001'
const EMAIL = 'ada.lovelace@example.org'
const IP = '198.51.100.77'
const UA = 'ErasureTestAgent/9.9 (Xq)'
const OTHER = 'tenant-Zw-keep'
const IDENTIFIERS = [T, LEAD, EMAIL, IP, UA]

let database: TestDatabase
let superuser: AnyDb
let writer: AnyDb
let admin: AnyDb
let before: ChainHead

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_erasure' })
  superuser = database.connect().db
  writer = database.connect(ROLES.writer).db
  admin = database.connect(ROLES.admin).db
  const common = { ipAddress: IP, userAgent: UA }
  await recordAuditEntry(admin, {
    adminId: 'admin-1',
    action: 'lead.read',
    resourceType: 'lead',
    resourceId: LEAD,
    tenantId: T,
    newValues: { email: EMAIL, name: 'Ada' },
    notes: `looked at ${EMAIL}`,
    metadata: { requestId: 'r-1', query: { email: EMAIL } },
    ...common,
  })
  await recordAuditEntry(admin, {
    adminId: 'admin-1',
    action: 'tenant.update',
    resourceType: 'tenant',
    resourceId: T,
    tenantId: T,
    oldValues: { name: 'Xq Ltd' },
    newValues: { name: 'Xq Limited' },
    ...common,
  })
  // an entry about the lead that forgot its tenant: found by the id map
  await recordAuditEntry(admin, {
    adminId: 'admin-2',
    action: 'lead.export',
    resourceType: 'lead',
    resourceId: LEAD,
    newValues: { email: EMAIL },
  })
  await recordAuditEntry(admin, {
    adminId: 'admin-2',
    action: 'tenant.read',
    resourceType: 'tenant',
    resourceId: OTHER,
    tenantId: OTHER,
    ipAddress: '203.0.113.5',
    newValues: { name: 'Zw Corp' },
  })
  await recordSystemEvent(writer, {
    eventType: 'alert',
    severity: 'high',
    title: `bounce rate of ${T} above 10%`,
    description: `lead ${EMAIL} bounced`,
    tenantId: T,
    ipAddress: IP,
    metadata: { lead: LEAD },
  })
  await recordSystemEvent(writer, { eventType: 'alert', title: 'Zw alert', tenantId: OTHER })
  await startSession(admin, { adminId: 'admin-1', sessionId: 'sess-erase', tenantId: T, ...common })
  before = await exportChainHead(admin)
})

afterAll(async () => {
  await database?.drop()
})

async function hits(needle: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select (select count(*) from admin_audit_log t where strpos(to_jsonb(t)::text, ${needle}) > 0)::int
         + (select count(*) from admin_system_events t where strpos(to_jsonb(t)::text, ${needle}) > 0)::int
         + (select count(*) from admin_audit_chain_head t where strpos(to_jsonb(t)::text, ${needle}) > 0)::int as n`.execute(
    superuser,
  )
  return rows[0]?.n ?? -1
}

describe('erasure (pm_audit_erase_personal, executable by pm_writer only)', () => {
  it('is refused to the admin role and the reader', async () => {
    for (const role of [ROLES.admin, ROLES.reader]) {
      await expect(
        erasePersonalData(database.connect(role).db, { tenantId: T, actor: 'x' }),
      ).rejects.toSatisfy((error) => errorCode(error) === '42501')
    }
  })

  it('removes every personal value of the tenant, in its transaction, and the chain still verifies', async () => {
    for (const id of IDENTIFIERS) expect(await hits(id), id).toBeGreaterThan(0)
    const result = await writer.transaction().execute(async (trx) => {
      await sql`create temp table pm_erasure_ids (old text primary key, new text not null) on commit drop`.execute(
        trx,
      )
      await sql`insert into pm_erasure_ids values (${LEAD}, 'erased-lead-1'), ('lead-never-audited', 'erased-x')`.execute(
        trx,
      )
      return erasePersonalData(trx, {
        tenantId: T,
        tenantPseudonym: 'erased-tenant-1',
        idMapTable: 'pm_erasure_ids',
        actor: 'system:maintenance',
        details: { requestId: '8d6c3a52-0000-4000-8000-000000000001', subject: 'erased-tenant-1' },
      })
    })
    expect(result).toMatchObject({ auditEntries: 3, systemEvents: 2 })
    expect(result.auditFields).toBeGreaterThanOrEqual(3 * 4)
    expect(result.erasureSeq).toBe(String(Number(before.seq) + 1))

    for (const id of IDENTIFIERS) expect(await hits(id), id).toBe(0)
    expect(await hits('erased-tenant-1')).toBeGreaterThan(0)
    expect(await hits('erased-lead-1')).toBeGreaterThan(0)

    // the other tenant's entries are as they were
    expect(await hits(OTHER)).toBeGreaterThan(0)
    expect(await hits('203.0.113.5')).toBe(1)

    // nothing was rewritten: the head exported before still anchors the chain
    expect(await verifyAuditChain(admin, { anchor: before })).toMatchObject({ ok: true })
    expect(await verifyAuditChain(writer)).toMatchObject({
      ok: true,
      checked: Number(before.seq) + 1,
    })
    expect(await chainFacts(superuser)).toMatchObject({ broken_links: 0, forks: 0 })
  })

  it('is itself an entry of the chain, with no personal data', async () => {
    const { rows } = await sql<{
      admin_id: string
      tenant_id: string
      metadata: Record<string, unknown>
    }>`
      select admin_id, tenant_id, metadata from admin_audit_log where action = ${ERASURE_ACTION}`.execute(
      admin,
    )
    expect(rows).toEqual([
      {
        admin_id: 'system:maintenance',
        tenant_id: 'erased-tenant-1',
        metadata: {
          requestId: '8d6c3a52-0000-4000-8000-000000000001',
          subject: 'erased-tenant-1',
          erasure: {
            v: 1,
            entries: 3,
            fields: expect.any(Number),
            digest: expect.stringMatching(/^[0-9a-f]{64}$/),
            system_events: 2,
          },
        },
      },
    ])
  })

  it('run again, finds nothing and writes nothing', async () => {
    const head = await exportChainHead(admin)
    const again = await erasePersonalData(writer, {
      tenantId: T,
      tenantPseudonym: 'erased-tenant-1',
      idMap: { [LEAD]: 'erased-lead-1' },
      actor: 'system:maintenance',
    })
    expect(again).toEqual({ erasureSeq: null, auditEntries: 0, auditFields: 0, systemEvents: 0 })
    expect(await exportChainHead(admin)).toMatchObject({ seq: head.seq, rowHash: head.rowHash })
  })

  it('an erased value cannot be faked: dropping a salt to edit a value is found', async () => {
    const { rows } = await sql<{ seq: string; erasure: string }>`
      select (select seq::text from admin_audit_log where tenant_id = ${OTHER}) as seq,
             (select seq::text from admin_audit_log where action = ${ERASURE_ACTION}) as erasure`.execute(
      superuser,
    )
    const { seq, erasure } = rows[0] as { seq: string; erasure: string }
    // an unerased value of the other tenant, edited with its salt dropped and an erasure claimed
    const claimed = await tamper(
      superuser,
      (trx) =>
        sql`update admin_audit_log set ip_address = '192.0.2.99', pii_salts[6] = null,
                   erased_by = array[null, null, null, null, null, ${erasure}::bigint, null, null, null]::bigint[]
             where seq = ${seq}::bigint`
          .execute(trx)
          .then(),
      (trx) => verifyAuditChain(trx),
    )
    // found when the erasure entry's record of what it erased is checked; named by the first
    // entry that erasure touched, the earliest that can have been changed
    expect(claimed.firstBad).toMatchObject({ seq: '1', reason: 'altered' })
    expect(claimed.firstBad?.detail).toMatch(
      new RegExp(`erased by entry ${erasure} are not the ones it records`),
    )
    expect(Number(seq)).toBeGreaterThan(1)
    // an erased value given back a made-up salt and value
    const unerased = await tamper(
      superuser,
      (trx) =>
        sql`update admin_audit_log set user_agent = 'Fake', pii_salts[7] = '\\x00112233445566778899aabbccddeeff'
             where erased_by[7] is not null and seq = (select min(seq) from admin_audit_log where erased_by[7] is not null)`
          .execute(trx)
          .then(),
      (trx) => verifyAuditChain(trx),
    )
    expect(unerased.firstBad).toMatchObject({ reason: 'altered' })
    // the guard lets even the erasure function change nothing but personal values
    await expect(
      superuser.transaction().execute(async (trx) => {
        await sql`select set_config('pm.audit_change', 'erase', true)`.execute(trx)
        await sql`update admin_audit_log set action = 'rewritten' where seq = 1`.execute(trx)
      }),
    ).rejects.toThrow(/changes personal values only/)
    await expect(
      superuser.transaction().execute(async (trx) => {
        await sql`select set_config('pm.audit_change', 'erase', true)`.execute(trx)
        await sql`update admin_audit_log set notes = 'x' where tenant_id = ${OTHER}`.execute(trx)
      }),
    ).rejects.toThrow(/may only change by erasing it/)
  })
})
