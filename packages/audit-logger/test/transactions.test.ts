import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { exportChainHead, recordAuditEntry, verifyAuditChain } from '../src/index.js'
import { type AnyDb, chainFacts } from './support/chain.js'

let database: TestDatabase
let superuser: AnyDb
let writer: AnyDb

beforeAll(async () => {
  database = await createTestDatabase({ label: 'audit_transactions' })
  superuser = database.connect().db
  writer = database.connect(ROLES.writer).db
  await sql`insert into tenants (id, name) values ('t-a6', 'Before')`.execute(superuser)
})

afterAll(async () => {
  await database?.drop()
})

class AfterTheAction extends Error {}

async function tenantName(): Promise<string> {
  const { rows } = await sql<{ name: string }>`select name from tenants where id = 't-a6'`.execute(
    superuser,
  )
  return rows[0]?.name as string
}

it('A6: an error after the action and its audit entry, before commit, leaves neither (50 runs, 0 orphans)', async () => {
  const before = await exportChainHead(superuser)
  let recorded = 0
  for (let run = 1; run <= 50; run++) {
    await expect(
      writer.transaction().execute(async (trx) => {
        await sql`update tenants set name = ${`Renamed ${run}`} where id = 't-a6'`.execute(trx)
        const entry = await recordAuditEntry(trx, {
          adminId: 'admin-1',
          action: 'tenant.rename',
          resourceType: 'tenant',
          resourceId: 't-a6',
          tenantId: 't-a6',
          oldValues: { name: 'Before' },
          newValues: { name: `Renamed ${run}` },
        })
        // the entry took the next seq inside the transaction…
        expect(entry.seq).toBe(String(Number(before.seq) + 1))
        recorded++
        // …and then the request fails
        if (run % 2 === 0) throw new AfterTheAction(`run ${run}`)
        await sql`select 1 / 0`.execute(trx)
      }),
    ).rejects.toThrow(run % 2 === 0 ? AfterTheAction : /division by zero/)
  }
  expect(recorded).toBe(50)
  expect(await tenantName()).toBe('Before')
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from admin_audit_log where action = 'tenant.rename'`.execute(
    superuser,
  )
  expect(rows[0]?.n).toBe(0)
  // the rolled-back entries left no gap: the head did not move
  expect(await exportChainHead(superuser)).toMatchObject({
    seq: before.seq,
    rowHash: before.rowHash,
  })
})

it('and when the transaction commits, both persist and the chain goes on without a gap', async () => {
  await writer.transaction().execute(async (trx) => {
    await sql`update tenants set name = 'After' where id = 't-a6'`.execute(trx)
    await recordAuditEntry(trx, {
      adminId: 'admin-1',
      action: 'tenant.rename',
      resourceType: 'tenant',
      resourceId: 't-a6',
      oldValues: { name: 'Before' },
      newValues: { name: 'After' },
    })
  })
  expect(await tenantName()).toBe('After')
  expect(await chainFacts(superuser)).toMatchObject({
    entries: 1,
    min_seq: '1',
    max_seq: '1',
    broken_links: 0,
    forks: 0,
  })
  expect((await verifyAuditChain(writer)).ok).toBe(true)
})

it('a writer waiting behind an uncommitted entry chains after it once it commits or rolls back', async () => {
  const other = database.connect(ROLES.admin).db
  let release!: () => void
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let firstSeq = ''
  const first = writer.transaction().execute(async (trx) => {
    firstSeq = (await recordAuditEntry(trx, { adminId: 'a', action: 'slow', resourceType: 'x' }))
      .seq
    await held
    throw new AfterTheAction('rolled back while the other waits')
  })
  await new Promise((resolve) => setTimeout(resolve, 200))
  const second = recordAuditEntry(other, { adminId: 'b', action: 'fast', resourceType: 'x' })
  await new Promise((resolve) => setTimeout(resolve, 200))
  release()
  await expect(first).rejects.toThrow(AfterTheAction)
  // the second took the seq the rolled-back one had had
  expect((await second).seq).toBe(firstSeq)
  expect((await verifyAuditChain(superuser)).ok).toBe(true)
})
