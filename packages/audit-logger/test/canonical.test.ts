import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createDatabase, ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChainRow,
  canonicalJson,
  computeDigest,
  computeRowHash,
  exportChainHead,
  readAuditChain,
  recordAuditEntry,
  verifyAuditChain,
} from '../src/index.js'
import { type AnyDb, seedEntries } from './support/chain.js'
import {
  ENTRY_CORPUS,
  FIXED_ENVELOPES,
  JSON_CORPUS,
  sqlCanonical,
  sqlDigest,
  sqlRowHash,
} from './support/corpus.js'

const run = promisify(execFile)
let database: TestDatabase
let superuser: AnyDb

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_canonical' })
  superuser = database.connect().db
  for (const entry of ENTRY_CORPUS) await recordAuditEntry(database.connect(ROLES.writer).db, entry)
  await seedEntries(superuser, 5)
})

afterAll(async () => {
  await database?.drop()
})

async function chain(db: AnyDb): Promise<ChainRow[]> {
  const rows: ChainRow[] = []
  for await (const row of readAuditChain(db)) rows.push(row)
  return rows
}

describe('the canonical form', () => {
  it('is the same in TypeScript and in PostgreSQL, value by value', async () => {
    for (const text of JSON_CORPUS) {
      expect(canonicalJson(text), text).toBe(await sqlCanonical(superuser, text))
      const salt = '0123456789abcdef0123456789abcdef'
      expect(computeDigest(salt, text), text).toBe(await sqlDigest(superuser, salt, text))
    }
    expect(canonicalJson('{"b": 1, "a": [1.0, "x", 1e2, -0]}')).toBe('{"a":[1.0,"x",100,0],"b":1}')
  })

  it('gives the same row hashes in TypeScript and in PostgreSQL', async () => {
    for (const envelope of FIXED_ENVELOPES) {
      expect(computeRowHash({ version: 1, ...envelope })).toBe(
        await sqlRowHash(superuser, envelope),
      )
    }
  })

  it('entries with awkward values verify: the database hashed what TypeScript recomputes', async () => {
    expect(await verifyAuditChain(superuser)).toMatchObject({
      ok: true,
      checked: ENTRY_CORPUS.length + 5,
    })
  })
})

describe('A5: stability', () => {
  it('adding a nullable column changes no hash, and the chain goes on', async () => {
    const before = await chain(superuser)
    const head = await exportChainHead(superuser)
    await superuser
      .transaction()
      .execute(async (trx) => {
        await sql`alter table admin_audit_log add column reviewed_by text`.execute(trx)
        await sql`alter table admin_audit_log add column review jsonb default '{"state": "open"}'`.execute(
          trx,
        )
        expect(await chain(trx)).toEqual(before)
        expect(await verifyAuditChain(trx, { anchor: head })).toMatchObject({ ok: true })
        await recordAuditEntry(trx, { adminId: 'a', action: 'after.column', resourceType: 'x' })
        expect(await verifyAuditChain(trx, { anchor: head })).toMatchObject({
          ok: true,
          checked: before.length + 1,
        })
        throw new Error('undo the columns')
      })
      .catch((error) => {
        if ((error as Error).message !== 'undo the columns') throw error
      })
  })

  it('pg_dump and restore change no hash: the restored chain verifies against the head exported before', async () => {
    const head = await exportChainHead(superuser)
    const before = await chain(superuser)
    const dir = await mkdtemp(join(tmpdir(), 'pm-audit-dump-'))
    const restoredName = `${database.name}_restored`
    const server = new URL(database.url())
    const admin = new pg.Client({
      connectionString: server.toString().replace(`/${database.name}`, '/postgres'),
    })
    await admin.connect()
    try {
      const file = join(dir, 'dump')
      await run('pg_dump', ['--format=custom', `--file=${file}`, database.url()])
      await admin.query(`create database "${restoredName}"`)
      const restoredUrl = server.toString().replace(`/${database.name}`, `/${restoredName}`)
      // the materialized view's data is left out: refreshing it during a restore fails on the
      // forced row level security of its tables (pg_restore turns row_security off); it is a
      // cache, refreshed afterwards
      const { stdout: toc } = await run('pg_restore', ['--list', file])
      const list = join(dir, 'list')
      await writeFile(
        list,
        toc
          .split('\n')
          .filter((l) => !l.includes('MATERIALIZED VIEW DATA'))
          .join('\n'),
      )
      await run('pg_restore', [
        '--exit-on-error',
        `--use-list=${list}`,
        `--dbname=${restoredUrl}`,
        file,
      ])
      const restored = createDatabase({ databaseUrl: restoredUrl, maxConnections: 2 })
      try {
        expect(await chain(restored.db)).toEqual(before)
        expect(await verifyAuditChain(restored.db, { anchor: head })).toMatchObject({
          ok: true,
          checked: before.length,
        })
        expect(await exportChainHead(restored.db)).toMatchObject({
          seq: head.seq,
          rowHash: head.rowHash,
        })
        // the restored guards and chain head work: the next entry chains on
        await recordAuditEntry(restored.db, {
          adminId: 'a',
          action: 'after.restore',
          resourceType: 'x',
        })
        expect(await verifyAuditChain(restored.db, { anchor: head })).toMatchObject({
          ok: true,
          checked: before.length + 1,
        })
        await expect(sql`delete from admin_audit_log`.execute(restored.db)).rejects.toThrow(
          /append-only/,
        )
      } finally {
        await restored.destroy()
      }
    } finally {
      await admin.query(`drop database if exists "${restoredName}" with (force)`)
      await admin.end()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
