import { createDatabase, type Database, ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { exportChainHead, recordAuditEntry, verifyAuditChain } from '../src/index.js'
import { type AnyDb, chainFacts } from './support/chain.js'

const WRITERS = 16
const ENTRIES = 10_000

let database: TestDatabase
let writers: Database
let superuser: AnyDb

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_concurrency' })
  superuser = database.connect().db
  // a pool of its own: one connection per writer, logged in as the writer role
  writers = createDatabase({ databaseUrl: database.url(ROLES.writer), maxConnections: WRITERS })
})

afterAll(async () => {
  await writers?.destroy()
  await database?.drop()
})

it(`A3: ${WRITERS} concurrent writers append ${ENTRIES.toLocaleString('en')} entries without a gap or a fork`, async () => {
  let next = 0
  const perWriter = new Map<number, number>()
  const writer = async (w: number) => {
    await writers.db.connection().execute(async (conn) => {
      // durability is not what is tested: commits need not wait for the disk
      await sql`set synchronous_commit = off`.execute(conn)
      for (;;) {
        const i = next++
        if (i >= ENTRIES) return
        // one transaction per entry, as an API request that records its read
        await recordAuditEntry(conn, {
          adminId: `admin-${w}`,
          action: 'tenant.read',
          resourceType: 'tenant',
          resourceId: `t-${i % 97}`,
          tenantId: `t-${i % 97}`,
          newValues: { i, writer: w },
          ipAddress: `10.1.${w}.${i % 250}`,
          metadata: { i },
        })
        perWriter.set(w, (perWriter.get(w) ?? 0) + 1)
      }
    })
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)))
  const seconds = (performance.now() - started) / 1000
  // every writer took part: the writes really were concurrent
  expect(perWriter.size).toBe(WRITERS)

  const facts = await chainFacts(superuser)
  expect(facts).toEqual({
    entries: ENTRIES,
    distinct_seqs: ENTRIES,
    min_seq: '1',
    max_seq: String(ENTRIES),
    broken_links: 0,
    forks: 0,
  })
  const { rows: interleaved } = await sql<{ switches: number }>`
    select count(*)::int as switches from (
      select admin_id, lag(admin_id) over (order by seq) as previous from admin_audit_log) s
     where admin_id <> previous`.execute(superuser)
  expect(interleaved[0]?.switches).toBeGreaterThan(WRITERS)

  const result = await verifyAuditChain(writers.db)
  expect(result).toMatchObject({ ok: true, checked: ENTRIES })
  const head = await exportChainHead(writers.db)
  expect(head.seq).toBe(String(ENTRIES))
  expect(result.head?.rowHash).toBe(head.rowHash)
  // a figure for the record, not a pass mark (speed belongs to bench/)
  console.info(
    `A3: ${ENTRIES} entries from ${WRITERS} connections in ${seconds.toFixed(1)} s (${Math.round(ENTRIES / seconds)} inserts/s), ${result.checked}/${ENTRIES} links valid, 0 forks`,
  )
})

it('a multi-row INSERT chains each row in turn', async () => {
  await sql`insert into admin_audit_log (admin_id, action, resource_type, resource_id)
            select 'admin-bulk', 'bulk.import', 'lead', 'lead-' || g from generate_series(1, 500) g`.execute(
    database.connect(ROLES.admin).db,
  )
  const facts = await chainFacts(superuser)
  expect(facts).toMatchObject({ entries: ENTRIES + 500, broken_links: 0, forks: 0 })
  expect((await verifyAuditChain(superuser)).ok).toBe(true)
})
