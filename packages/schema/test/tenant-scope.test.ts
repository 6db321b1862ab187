import { sql, type Transaction } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DB, ROLES, withTenant } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'
import { pgConnection } from './support/queryable.js'
import { insertTenantFixture, TENANT_A, TENANT_B } from './support/tenant-fixture.js'

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'scope' })
  const superuser = await pgConnection(database.url())
  await insertTenantFixture(superuser)
  await superuser.close()
})

afterAll(async () => {
  await database?.drop()
})

describe('withTenant on PostgreSQL', () => {
  it('shows a tenant only its rows even when the query has no tenant filter', async () => {
    const { db } = database.connect(ROLES.reader)
    const rows = await withTenant(db, TENANT_B, (trx) =>
      trx.selectFrom('emails').select(['tenant_id', 'id']).orderBy('id').execute(),
    )
    expect(rows).toEqual([
      { tenant_id: TENANT_B, id: '2' },
      { tenant_id: TENANT_B, id: '4' },
    ])
  })

  it('leaves no tenant or role behind on pooled connections, under concurrency', async () => {
    // a pool of 5 shared by 200 concurrent scopes over two tenants
    const { db } = database.connect(ROLES.admin)
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const tenant = i % 2 === 0 ? TENANT_A : TENANT_B
        return withTenant(db, tenant, async (trx) => {
          const rows = await trx.selectFrom('campaign_analytics').select('tenant_id').execute()
          return { tenant, seen: rows.map((r) => r.tenant_id) }
        })
      }),
    )
    for (const { tenant, seen } of results) expect(seen).toEqual([tenant])
    const after = await Promise.all(
      Array.from({ length: 5 }, () =>
        sql<{ u: string; t: string | null }>`
          select current_user as u, nullif(current_setting('app.current_tenant_id', true), '') as t
            from pg_sleep(0.01)`.execute(db),
      ),
    )
    for (const r of after) expect(r.rows[0]).toEqual({ u: ROLES.admin, t: null })
  })

  it("reads one snapshot with isolation 'repeatable read', the latest commit by default", async () => {
    const { db } = database.connect(ROLES.reader)
    const superuser = await pgConnection(database.url())
    const sentOfA = (trx: Transaction<DB>) =>
      sql<{ n: number }>`select sum(emails_sent)::int as n from billing_analytics`
        .execute(trx)
        .then((r) => r.rows[0]?.n)
    const readTwice = (isolation?: 'repeatable read') =>
      withTenant(
        db,
        TENANT_A,
        async (trx) => {
          const first = await sentOfA(trx)
          // another session commits between the two statements
          await superuser.query(
            `update billing_analytics set emails_sent = emails_sent + 1 where tenant_id = '${TENANT_A}'`,
          )
          return [first, await sentOfA(trx)]
        },
        isolation ? { isolation } : {},
      )
    try {
      const [before, after] = await readTwice('repeatable read')
      expect(after).toBe(before)
      const [again, latest] = await readTwice()
      expect(again).toBe((before as number) + 1)
      expect(latest).toBe((before as number) + 2)
    } finally {
      await superuser.query(
        `update billing_analytics set emails_sent = emails_sent - 2 where tenant_id = '${TENANT_A}'`,
      )
      await superuser.close()
    }
  })

  it('refuses an empty tenant id', async () => {
    const { db } = database.connect(ROLES.reader)
    await expect(withTenant(db, '', async () => 1)).rejects.toThrow('tenantId is empty')
  })
})
