import {
  bootstrapDatabase,
  createDatabase,
  type Database,
  migrate,
  ROLES,
} from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  canonicalJson,
  computeDigest,
  computeRowHash,
  erasePersonalData,
  exportChainHead,
  PERSONAL_FIELDS,
  recordAuditEntry,
  verifyAuditChain,
} from '../src/index.js'
import type { AnyDb } from './support/chain.js'
import {
  ENTRY_CORPUS,
  FIXED_ENVELOPES,
  JSON_CORPUS,
  sqlCanonical,
  sqlDigest,
  sqlRowHash,
} from './support/corpus.js'

let embedded: Database
let lite: AnyDb
let database: TestDatabase
let postgres: AnyDb

beforeAll(async () => {
  embedded = createDatabase({ dataDir: 'memory://' })
  lite = embedded.db
  await bootstrapDatabase(lite)
  await migrate(lite)
  database = await createTestDatabase({ label: 'audit_pglite' })
  postgres = database.connect().db
  for (const entry of ENTRY_CORPUS) {
    await recordAuditEntry(lite, entry)
    await recordAuditEntry(database.connect(ROLES.writer).db, entry)
  }
})

afterAll(async () => {
  await embedded?.destroy()
  await database?.drop()
})

describe('A5: on embedded PGlite', () => {
  it('canonical JSON, digests and row hashes are those of PostgreSQL and of TypeScript', async () => {
    for (const text of JSON_CORPUS) {
      const expected = await sqlCanonical(postgres, text)
      expect(await sqlCanonical(lite, text), text).toBe(expected)
      expect(canonicalJson(text), text).toBe(expected)
      const salt = 'fedcba9876543210fedcba9876543210'
      const digest = await sqlDigest(postgres, salt, text)
      expect(await sqlDigest(lite, salt, text), text).toBe(digest)
      expect(computeDigest(salt, text)).toBe(digest)
    }
    for (const envelope of FIXED_ENVELOPES) {
      const expected = await sqlRowHash(postgres, envelope)
      expect(await sqlRowHash(lite, envelope)).toBe(expected)
      expect(computeRowHash({ version: 1, ...envelope })).toBe(expected)
    }
  })

  it('the entries PostgreSQL chained get the same digests and hashes when PGlite recomputes them', async () => {
    const { rows } = await sql<{
      seq: string
      prev_hash: string
      row_hash: string
      created_at: string
      action: string
      resource_type: string
      db_role: string
      personal: (string | null)[]
      salts: (string | null)[]
      digests: (string | null)[]
    }>`select seq::text, prev_hash, row_hash, created_at, action, resource_type, db_role, personal,
              salts, digests
         from pm_audit_chain_rows(0, 0, 100)`.execute(postgres)
    expect(rows).toHaveLength(ENTRY_CORPUS.length)
    for (const row of rows) {
      for (let i = 0; i < PERSONAL_FIELDS.length; i++) {
        const value = row.personal[i]
        const salt = row.salts[i]
        if (value === null || value === undefined || !salt) continue
        expect(await sqlDigest(lite, salt, value), `${row.seq} ${PERSONAL_FIELDS[i]}`).toBe(
          row.digests[i],
        )
      }
      const envelope = {
        seq: row.seq,
        prevHash: row.prev_hash,
        createdAt: row.created_at,
        action: row.action,
        resourceType: row.resource_type,
        dbRole: row.db_role,
        digests: row.digests,
      }
      expect(await sqlRowHash(lite, envelope)).toBe(row.row_hash)
    }
  })

  it('what PGlite chains verifies, survives an erasure, and tampering is found', async () => {
    const head = await exportChainHead(lite)
    expect(head.seq).toBe(String(ENTRY_CORPUS.length))
    expect(await verifyAuditChain(lite, { anchor: head })).toMatchObject({
      ok: true,
      checked: ENTRY_CORPUS.length,
    })
    const erased = await erasePersonalData(lite, {
      tenantId: 't-1',
      tenantPseudonym: 'erased-t1',
      actor: 'system:maintenance',
    })
    expect(erased).toMatchObject({ auditEntries: 1 })
    expect(await verifyAuditChain(lite, { anchor: head })).toMatchObject({ ok: true })
    await lite
      .transaction()
      .execute(async (trx) => {
        await sql`alter table admin_audit_log disable trigger all`.execute(trx)
        await sql`update admin_audit_log set action = 'x' where seq = 2`.execute(trx)
        expect((await verifyAuditChain(trx)).firstBad).toMatchObject({
          seq: '2',
          reason: 'altered',
        })
        throw new Error('undo')
      })
      .catch((error) => {
        if ((error as Error).message !== 'undo') throw error
      })
    await expect(sql`delete from admin_audit_log`.execute(lite)).rejects.toThrow(/append-only/)
  })
})
