import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordAuditEntry, recordSystemEvent, verifyAuditChain } from '../src/index.js'
import { type AnyDb, chainFacts, errorCode, seedEntries } from './support/chain.js'

let database: TestDatabase
let superuser: AnyDb

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_append_only' })
  superuser = database.connect().db
  await seedEntries(superuser, 5)
  await recordSystemEvent(superuser, {
    eventType: 'alert',
    title: 'disk almost full',
    severity: 'high',
  })
})

afterAll(async () => {
  await database?.drop()
})

const TABLES = ['admin_audit_log', 'admin_system_events'] as const

async function failure(db: AnyDb, statement: string): Promise<{ code?: string; message: string }> {
  try {
    await sql.raw(statement).execute(db)
  } catch (error) {
    return { code: errorCode(error), message: (error as Error).message }
  }
  throw new Error(`${statement} succeeded`)
}

describe('A1: the application roles', () => {
  for (const role of [ROLES.writer, ROLES.admin, ROLES.reader]) {
    for (const table of [...TABLES, 'admin_audit_chain_head']) {
      it(`${role} cannot UPDATE, DELETE, TRUNCATE or disable the triggers of ${table} (42501)`, async () => {
        const db = database.connect(role).db
        const statements = [
          `update ${table} set ${table === 'admin_audit_chain_head' ? 'seq = 0' : 'tenant_id = null'}`,
          `delete from ${table}`,
          `truncate ${table}`,
          `alter table ${table} disable trigger pm_append_only`,
          `alter table ${table} disable trigger all`,
        ]
        for (const statement of statements) {
          const { code, message } = await failure(db, statement)
          expect(code, statement).toBe('42501')
          // the privilege system refuses before any trigger runs
          expect(message, statement).toMatch(/permission denied|must be owner/)
        }
      })
    }

    it(`${role} cannot touch a partition directly, nor leave replica mode on`, async () => {
      const db = database.connect(role).db
      for (const statement of [
        'delete from admin_audit_log_default',
        'truncate admin_audit_log_default',
        'update admin_system_events_default set title = title',
        'set session_replication_role = replica',
      ]) {
        expect((await failure(db, statement)).code, statement).toBe('42501')
      }
    })
  }

  it('the writer and the admin append, and what they append is chained', async () => {
    const before = await chainFacts(superuser)
    await recordAuditEntry(database.connect(ROLES.writer).db, {
      adminId: 'system:worker',
      action: 'tenant.recompute',
      resourceType: 'tenant',
    })
    // a plain INSERT (no RETURNING: the writer may not read the table) is chained by the trigger
    await sql`insert into admin_audit_log (admin_id, action, resource_type) values ('admin-9', 'tenant.read', 'tenant')`.execute(
      database.connect(ROLES.admin).db,
    )
    const after = await chainFacts(superuser)
    expect(after.entries).toBe(before.entries + 2)
    expect(after).toMatchObject({ broken_links: 0, forks: 0, distinct_seqs: after.entries })
    expect((await verifyAuditChain(database.connect(ROLES.writer).db)).ok).toBe(true)
  })

  it('nobody sets the chain columns of a new entry', async () => {
    for (const db of [database.connect(ROLES.admin).db, superuser]) {
      const { code, message } = await failure(
        db,
        `insert into admin_audit_log (admin_id, action, resource_type, seq) values ('a', 'b', 'c', 999)`,
      )
      expect(code).toBe('42501')
      expect(message).toMatch(/set by the audit trail/)
    }
  })
})

describe('A2: the owner and a superuser', () => {
  it('are refused UPDATE, DELETE and TRUNCATE by the ENABLE ALWAYS triggers', async () => {
    const owner = database.connect(ROLES.owner).db
    for (const db of [owner, superuser]) {
      for (const table of TABLES) {
        for (const statement of [
          `update ${table} set tenant_id = 'x'`,
          `delete from ${table}`,
          `truncate ${table}`,
        ]) {
          const { code, message } = await failure(db, statement)
          expect(code, statement).toBe('42501')
          expect(message, statement).toMatch(new RegExp(`${table}\\w* is append-only`))
        }
      }
    }
  })

  it('also under session_replication_role = replica, and on every partition', async () => {
    const { rows: partitions } = await sql<{ name: string }>`
      select inhrelid::regclass::text as name from pg_inherits
       where inhparent in ('admin_audit_log'::regclass, 'admin_system_events'::regclass)`.execute(
      superuser,
    )
    expect(partitions.length).toBeGreaterThanOrEqual(10)
    // row triggers fire for rows: UPDATE and DELETE go to the partitions that hold some
    const { rows: holding } = await sql<{ name: string }>`
      select distinct tableoid::regclass::text as name from admin_audit_log
      union select distinct tableoid::regclass::text from admin_system_events`.execute(superuser)
    const statements = [
      ...[...TABLES, ...holding.map((p) => p.name)].flatMap((t) => [
        `update ${t} set tenant_id = 'x'`,
        `delete from ${t}`,
      ]),
      ...[...TABLES, ...partitions.map((p) => p.name)].map((t) => `truncate ${t}`),
    ]
    await superuser.connection().execute(async (conn) => {
      await sql`set session_replication_role = replica`.execute(conn)
      try {
        for (const statement of statements) {
          const { code, message } = await failure(conn, statement)
          expect(code, statement).toBe('42501')
          expect(message, statement).toMatch(/is append-only/)
        }
        // and what is inserted in replica mode is chained all the same
        await recordAuditEntry(conn, { adminId: 'a', action: 'replica.insert', resourceType: 'x' })
      } finally {
        await sql`reset session_replication_role`.execute(conn)
      }
    })
    expect(await chainFacts(superuser)).toMatchObject({ broken_links: 0, forks: 0 })
    expect((await verifyAuditChain(superuser)).ok).toBe(true)
  })

  it('the chain head changes only with an append', async () => {
    for (const db of [database.connect(ROLES.owner).db, superuser]) {
      for (const statement of [
        'update admin_audit_chain_head set seq = seq + 1',
        'delete from admin_audit_chain_head',
        'truncate admin_audit_chain_head',
        `insert into admin_audit_chain_head (singleton, seq, row_hash) values (true, 0, '\\x00')`,
      ]) {
        expect((await failure(db, statement)).code, statement).toBe('42501')
      }
    }
  })

  it('a partition created later is guarded too (TRUNCATE triggers are not inherited)', async () => {
    await sql`select pm_ensure_monthly_partitions(t, '2031-01-01', '2031-02-01')
                from unnest(array['admin_audit_log', 'admin_system_events']::regclass[]) t`.execute(
      database.connect(ROLES.writer).db,
    )
    for (const table of ['admin_audit_log_y2031m01', 'admin_system_events_y2031m01']) {
      const { message } = await failure(superuser, `truncate ${table}`)
      expect(message).toMatch(/is append-only: TRUNCATE/)
    }
  })
})
