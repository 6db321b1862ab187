import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChainHead,
  ERASURE_ACTION,
  eraseSubjectPersonalData,
  exportChainHead,
  recordAuditEntry,
  recordSystemEvent,
  verifyAuditChain,
} from '../src/index.js'
import { type AnyDb, chainFacts, errorCode } from './support/chain.js'

// identifiers that cannot occur by chance in hex digests or timestamps
const T = 'tenant-Kp-subject'
const LEAD = 'lead-Kp-0001'
const EMAIL = 'grace.hopper@example.org'
const OTHER_LEAD = 'lead-Kp-0002'
const OTHER_EMAIL = 'alan.turing@example.org'
const IP = '198.51.100.78'
const PSEUDONYM = 'erased-lead-Kp'

let database: TestDatabase
let superuser: AnyDb
let writer: AnyDb
let admin: AnyDb
let before: ChainHead

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_subject_erasure' })
  superuser = database.connect().db
  writer = database.connect(ROLES.writer).db
  admin = database.connect(ROLES.admin).db
  // about the lead, by its id
  await recordAuditEntry(admin, {
    adminId: 'admin-1',
    action: 'lead.update',
    resourceType: 'lead',
    resourceId: LEAD,
    tenantId: T,
    oldValues: { status: 'new' },
    newValues: { status: 'contacted' },
    ipAddress: IP,
  })
  // about the lead, by its address only (a search by email)
  await recordAuditEntry(admin, {
    adminId: 'admin-1',
    action: 'lead.search',
    resourceType: 'tenant',
    resourceId: T,
    tenantId: T,
    metadata: { query: { email: EMAIL } },
    ipAddress: IP,
  })
  // about another lead of the same tenant: kept whole
  await recordAuditEntry(admin, {
    adminId: 'admin-1',
    action: 'lead.update',
    resourceType: 'lead',
    resourceId: OTHER_LEAD,
    tenantId: T,
    newValues: { email: OTHER_EMAIL },
    ipAddress: IP,
  })
  // the same lead id in another tenant is another lead: kept
  await recordAuditEntry(admin, {
    adminId: 'admin-1',
    action: 'lead.update',
    resourceType: 'lead',
    resourceId: LEAD,
    tenantId: 'tenant-Kp-other',
    newValues: { status: 'x' },
  })
  await recordSystemEvent(writer, {
    eventType: 'alert',
    severity: 'medium',
    title: `lead ${EMAIL} complained`,
    description: 'spam complaint',
    tenantId: T,
    ipAddress: IP,
  })
  await recordSystemEvent(writer, { eventType: 'alert', title: 'tenant alert', tenantId: T })
  before = await exportChainHead(admin)
})

afterAll(async () => {
  await database?.drop()
})

async function count(query: ReturnType<typeof sql<{ n: number }>>): Promise<number> {
  const { rows } = await query.execute(superuser)
  return rows[0]?.n ?? -1
}

const erase = (db: AnyDb) =>
  eraseSubjectPersonalData(db, {
    subjectKind: 'lead',
    subjectPseudonym: PSEUDONYM,
    tenantId: T,
    needles: [LEAD, EMAIL],
    idMap: { [LEAD]: PSEUDONYM },
    actor: 'system:maintenance',
    details: { requestId: 'req-1', subjectPseudonym: PSEUDONYM },
  })

describe('erasure of one lead or mailbox (pm_audit_erase_subject, executable by pm_writer only)', () => {
  it('is refused to the admin role and the reader, and checks its input', async () => {
    for (const role of [ROLES.admin, ROLES.reader]) {
      await expect(erase(database.connect(role).db)).rejects.toSatisfy(
        (error) => errorCode(error) === '42501',
      )
    }
    await expect(
      eraseSubjectPersonalData(writer, {
        subjectKind: 'lead',
        subjectPseudonym: PSEUDONYM,
        tenantId: T,
        needles: [],
        actor: 'x',
      }),
    ).rejects.toThrow(/needles/)
  })

  it('erases the entries and events about the subject only, and the chain still verifies', async () => {
    const result = await writer.transaction().execute((trx) => erase(trx))
    expect(result).toMatchObject({ auditEntries: 2, systemEvents: 1 })
    expect(result.erasureSeq).toBe(String(Number(before.seq) + 1))
    const mentions = (needle: string) =>
      count(sql<{ n: number }>`
        select (select count(*) from admin_audit_log t where t.tenant_id = ${T} and strpos(to_jsonb(t)::text, ${needle}) > 0)::int
             + (select count(*) from admin_system_events t where strpos(to_jsonb(t)::text, ${needle}) > 0)::int as n`)
    expect(await mentions(LEAD)).toBe(0)
    expect(await mentions(EMAIL)).toBe(0)
    // the entry by id now names the pseudonym; the tenant is not erased
    expect(
      await count(sql<{ n: number }>`
        select count(*)::int as n from admin_audit_log
         where resource_id = ${PSEUDONYM} and tenant_id = ${T} and action = 'lead.update'
           and ip_address is null and old_values is null`),
    ).toBe(1)
    // kept: the other lead's entry, the other tenant's lead, the tenant's other event
    expect(await mentions(OTHER_EMAIL)).toBe(1)
    expect(
      await count(sql<{ n: number }>`
        select count(*)::int as n from admin_audit_log where resource_id = ${LEAD} and tenant_id = 'tenant-Kp-other'`),
    ).toBe(1)
    expect(
      await count(sql<{ n: number }>`
        select count(*)::int as n from admin_system_events where title = 'tenant alert'`),
    ).toBe(1)
    expect(
      await count(sql<{ n: number }>`
        select count(*)::int as n from admin_system_events where title = '[erased]' and ip_address is null`),
    ).toBe(1)
    expect(await verifyAuditChain(admin, { anchor: before })).toMatchObject({ ok: true })
    expect(await chainFacts(superuser)).toMatchObject({ broken_links: 0, forks: 0 })
  })

  it('is itself one entry of the chain naming the subject by its pseudonym', async () => {
    const { rows } = await sql<{
      resource_type: string
      resource_id: string
      tenant_id: string
      metadata: Record<string, unknown>
    }>`select resource_type, resource_id, tenant_id, metadata from admin_audit_log
        where action = ${ERASURE_ACTION}`.execute(admin)
    expect(rows).toEqual([
      {
        resource_type: 'lead',
        resource_id: PSEUDONYM,
        tenant_id: T,
        metadata: {
          requestId: 'req-1',
          subjectPseudonym: PSEUDONYM,
          erasure: expect.objectContaining({ v: 1, entries: 2, system_events: 1 }),
        },
      },
    ])
  })

  it('run again, finds nothing and writes nothing', async () => {
    const head = await exportChainHead(admin)
    expect(await erase(writer)).toEqual({
      erasureSeq: null,
      auditEntries: 0,
      auditFields: 0,
      systemEvents: 0,
    })
    expect(await exportChainHead(admin)).toMatchObject({ seq: head.seq, rowHash: head.rowHash })
    expect(await verifyAuditChain(writer)).toMatchObject({ ok: true })
  })
})
