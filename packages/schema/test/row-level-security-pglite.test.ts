import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootstrapDatabase, createDatabase, type Database, migrate, ROLES } from '../src/index.js'
import { pgliteConnection, type Queryable } from './support/queryable.js'
import { type MatrixPlan, planMatrix, runMatrix, tablesUnderTest } from './support/rls-matrix.js'
import { insertTenantFixture, TENANT_A } from './support/tenant-fixture.js'

let database: Database
let q: Queryable
let plan: MatrixPlan

beforeAll(async () => {
  database = createDatabase({ dataDir: 'memory://' })
  await bootstrapDatabase(database.db)
  await migrate(database.db)
  if (!database.pglite) throw new Error('expected an embedded database')
  q = pgliteConnection(database.pglite)
  await insertTenantFixture(q)
  plan = await planMatrix(q, await tablesUnderTest(q))
})

afterAll(async () => {
  await database?.destroy()
})

describe('row level security on embedded PGlite', () => {
  it('connects as a superuser, which bypasses row level security: every row shows', async () => {
    const { rows } = await q.query<{ super: boolean }>(
      'select rolsuper as super from pg_roles where rolname = current_user',
    )
    expect(rows[0]?.super).toBe(true)
    await q.query('begin')
    await q.query(`select set_config('app.current_tenant_id', $1, true)`, [TENANT_A])
    const seen = await q.query<{ n: number }>(
      'select count(distinct tenant_id)::int as n from emails',
    )
    await q.query('rollback')
    expect(seen.rows[0]?.n).toBe(2)
  })

  it('with SET ROLE pm_reader: no tenant sees or touches another tenant’s rows', async () => {
    await q.query('begin')
    const result = await runMatrix(q, plan, { role: ROLES.reader })
    await q.query('rollback')
    expect(result.checks).toBe(plan.tables.length * 5 * 4)
    expect(result.violations).toEqual([])
  })

  it('loosening a policy is caught here too', async () => {
    await q.query('begin')
    try {
      await q.exec('alter policy tenant_isolation on campaign_analytics using (true)')
      const result = await runMatrix(q, plan, { role: ROLES.reader, only: 'campaign_analytics' })
      expect(result.violations.length).toBeGreaterThan(0)
    } finally {
      await q.query('rollback')
    }
  })

  it('withTenant() runs Kysely queries as the reader with the tenant set', async () => {
    const { withTenant } = await import('../src/index.js')
    const rows = await withTenant(database.db, TENANT_A, (trx) =>
      trx.selectFrom('campaign_analytics').select(['tenant_id', 'campaign_id', 'day']).execute(),
    )
    expect(rows).toEqual([
      { tenant_id: TENANT_A, campaign_id: `${TENANT_A}-cmp`, day: '2024-03-10' },
    ])
    const after = await q.query<{ u: string; t: string | null }>(
      `select current_user as u, nullif(current_setting('app.current_tenant_id', true), '') as t`,
    )
    expect(after.rows[0]).toEqual({ u: 'postgres', t: null })
  })

  it('withTenant() settings and queryAsTenant() hold for the transaction only, as the reader', async () => {
    const { queryAsTenant, withTenant } = await import('../src/index.js')
    const inside = await withTenant(
      database.db,
      TENANT_A,
      async (trx) =>
        (
          await sql<{
            timeout: string
          }>`select current_setting('statement_timeout') as timeout`.execute(trx)
        ).rows[0],
      { settings: { statement_timeout: '1234' } },
    )
    expect(inside).toEqual({ timeout: '1234ms' })
    const rows = await queryAsTenant<{ tenant_id: string; u: string; timeout: string }>(
      database,
      TENANT_A,
      `select tenant_id, current_user as u, current_setting('statement_timeout') as timeout
         from campaign_analytics where tenant_id = $1 or true`,
      { settings: { statement_timeout: '4321' } },
    )
    expect(rows).toEqual([{ tenant_id: TENANT_A, u: ROLES.reader, timeout: '4321ms' }])
    const after = await q.query<{ u: string; timeout: string }>(
      `select current_user as u, current_setting('statement_timeout') as timeout`,
    )
    expect(after.rows[0]).toEqual({ u: 'postgres', timeout: '0' })
  })
})
