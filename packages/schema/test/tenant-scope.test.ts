import { sql, type Transaction } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DB, queryAsRole, queryAsTenant, ROLES, withTenant } from '../src/index.js'
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

  it('sets more settings in the same statement, for the transaction only', async () => {
    const { db } = database.connect(ROLES.reader)
    const seen = await withTenant(
      db,
      TENANT_B,
      async (trx) =>
        (
          await sql<{ timeout: string; idle: string; t: string }>`
            select current_setting('statement_timeout') as timeout,
                   current_setting('idle_in_transaction_session_timeout') as idle,
                   current_setting('app.current_tenant_id') as t`.execute(trx)
        ).rows[0],
      { settings: { statement_timeout: '1234', idle_in_transaction_session_timeout: '5678' } },
    )
    expect(seen).toEqual({ timeout: '1234ms', idle: '5678ms', t: TENANT_B })
    const after = await sql<{ timeout: string }>`
      select current_setting('statement_timeout') as timeout`.execute(db)
    expect(after.rows[0]?.timeout).not.toBe('1234ms')
  })

  it('queryAsTenant reads in one round trip as the reader, the tenant set, nothing left behind', async () => {
    const connection = database.connect(ROLES.admin)
    expect(connection.pool).toBeDefined()
    // the tenant inlined as a literal: quotes and backslashes stay data
    const odd = `it's a \\ tenant`
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const tenant = [TENANT_A, TENANT_B, odd][i % 3] as string
        return queryAsTenant<{ tenant_id: string; u: string; t: string; timeout: string }>(
          connection,
          tenant,
          `select e.tenant_id, current_user as u, current_setting('app.current_tenant_id') as t,
                  current_setting('statement_timeout') as timeout
             from (select $1::text as asked) a
             left join emails e on true`,
          { settings: { statement_timeout: '2500' } },
        ).then((rows) => ({ tenant, rows }))
      }),
    )
    for (const { tenant, rows } of results) {
      // no tenant filter on emails: row level security alone limits the rows
      const expected = tenant === odd ? [null] : [tenant, tenant]
      expect(rows.map((r) => r.tenant_id)).toEqual(expected)
      for (const r of rows)
        expect(r).toMatchObject({ u: ROLES.reader, t: tenant, timeout: '2500ms' })
    }
    const after = await Promise.all(
      Array.from({ length: 5 }, () =>
        sql<{ u: string; t: string | null }>`
          select current_user as u, nullif(current_setting('app.current_tenant_id', true), '') as t
            from pg_sleep(0.01)`.execute(connection.db),
      ),
    )
    for (const r of after) expect(r.rows[0]).toEqual({ u: ROLES.admin, t: null })
    // the settings ended with the message's implicit transaction, on every pooled connection
    const settingsAfter = await Promise.all(
      Array.from({ length: 5 }, () =>
        sql<{ timeout: string; ro: string }>`
          select current_setting('statement_timeout') as timeout,
                 current_setting('transaction_read_only') as ro
            from pg_sleep(0.01)`.execute(connection.db),
      ),
    )
    for (const r of settingsAfter) expect(r.rows[0]).toEqual({ timeout: '0', ro: 'off' })
    // read only: a write in the statement is refused
    await expect(
      queryAsTenant(
        connection,
        TENANT_A,
        `update billing_analytics set emails_sent = emails_sent where tenant_id = $1 returning 1`,
      ),
    ).rejects.toThrow(/read-only transaction/)
    // a failing statement: the connection is discarded, not returned mid-transaction
    await expect(
      queryAsTenant(connection, TENANT_A, 'select 1 / 0 where $1 is not null'),
    ).rejects.toThrow(/division by zero/)
    const status = await sql<{ n: number }>`select 1 as n`.execute(connection.db)
    expect(status.rows[0]?.n).toBe(1)
  })

  it('queryAsRole reads in one round trip as the role, the list as escaped literals, read only, nothing left behind', async () => {
    const connection = database.connect(ROLES.admin)
    const odd = `it's a \\ tenant`
    const rows = await queryAsRole<{ item: string; u: string; timeout: string }>(
      connection,
      ROLES.reader,
      `select item, current_user as u, current_setting('statement_timeout') as timeout
         from unnest($1) as item`,
      [TENANT_A, odd, ''],
      { settings: { statement_timeout: '2500' } },
    )
    expect(rows).toEqual([
      { item: TENANT_A, u: ROLES.reader, timeout: '2500ms' },
      { item: odd, u: ROLES.reader, timeout: '2500ms' },
      { item: '', u: ROLES.reader, timeout: '2500ms' },
    ])
    // the reader without a tenant sees no tenant's rows
    const emails = await queryAsRole<{ n: number }>(
      connection,
      ROLES.reader,
      'select count(*)::int as n from emails where tenant_id = any($1)',
      [TENANT_A, TENANT_B],
    )
    expect(emails).toEqual([{ n: 0 }])
    await expect(
      queryAsRole(connection, ROLES.admin, 'create temp table scratch as select unnest($1) as x', [
        TENANT_A,
      ]),
    ).rejects.toThrow(/read-only transaction/)
    const after = await sql<{ u: string; timeout: string }>`
      select current_user as u, current_setting('statement_timeout') as timeout`.execute(
      connection.db,
    )
    expect(after.rows[0]).toEqual({ u: ROLES.admin, timeout: '0' })
  })

  it('refuses an empty tenant id', async () => {
    const { db } = database.connect(ROLES.reader)
    await expect(withTenant(db, '', async () => 1)).rejects.toThrow('tenantId is empty')
  })
})
