import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROLES } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'
import { pgConnection, type Queryable } from './support/queryable.js'
import {
  type MatrixPlan,
  planMatrix,
  runMatrix,
  type TableUnderTest,
  tablesUnderTest,
} from './support/rls-matrix.js'
import { insertTenantFixture, TENANT_A, TENANT_B } from './support/tenant-fixture.js'

let database: TestDatabase
let superuser: Queryable & { client: import('pg').Client }
let tables: TableUnderTest[]
let plan: MatrixPlan

beforeAll(async () => {
  database = await createTestDatabase({ label: 'rls' })
  superuser = await pgConnection(database.url())
  await insertTenantFixture(superuser)
  tables = await tablesUnderTest(superuser)
  plan = await planMatrix(superuser, tables)
})

afterAll(async () => {
  await superuser?.close()
  await database?.drop()
})

describe('row level security on PostgreSQL, as the reader role', () => {
  it('covers every table with tenant data, each holding rows of both tenants', () => {
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'tenants',
        'emails',
        'campaign_analytics',
        'sequence_step_analytics',
        'mailbox_analytics',
        'warmup_analytics',
        'lead_analytics',
        'billing_analytics',
        'admin_audit_log',
        'admin_system_events',
      ]),
    )
  })

  it('logged in as pm_reader: no tenant sees or touches another tenant’s rows', async () => {
    const reader = await pgConnection(database.url(ROLES.reader))
    try {
      const role = await reader.query<{ u: string }>('select current_user as u')
      expect(role.rows[0]?.u).toBe(ROLES.reader)
      await reader.query('begin')
      const result = await runMatrix(reader, plan, { role: ROLES.reader })
      await reader.query('rollback')
      expect(result.checks).toBe(tables.length * 5 * 4)
      expect(result.violations).toEqual([])
    } finally {
      await reader.close()
    }
  })

  it('logged in as pm_admin, reading tenants through pm_reader: the same isolation', async () => {
    const admin = await pgConnection(database.url(ROLES.admin))
    try {
      await admin.query('begin')
      const result = await runMatrix(admin, plan, { role: ROLES.reader })
      await admin.query('rollback')
      expect(result.violations).toEqual([])
      const own = await admin.query<{ n: number }>('select count(*)::int as n from admin_audit_log')
      expect(own.rows[0]?.n).toBe(2)
    } finally {
      await admin.close()
    }
  })

  it('a session that never set a tenant sees nothing and gets no error', async () => {
    const reader = await pgConnection(database.url(ROLES.reader))
    try {
      for (const table of tables.filter((t) => !t.adminOnly)) {
        const { rows } = await reader.query(`select * from ${table.name}`)
        expect(rows, table.name).toEqual([])
      }
    } finally {
      await reader.close()
    }
  })

  it('a non-LEAKPROOF function in a WHERE clause never sees another tenant’s values', async () => {
    await superuser.exec(`
      create function leak(t text, n int) returns boolean language plpgsql cost 0.0000001 as $$
      begin raise notice 'leak % %', t, n; return true; end $$;`)
    const reader = await pgConnection(database.url(ROLES.reader))
    const notices: string[] = []
    reader.client.on('notice', (n) => notices.push(n.message ?? ''))
    try {
      await reader.query('begin')
      await reader.query(`select set_config('app.current_tenant_id', $1, true)`, [TENANT_A])
      for (const table of tables.filter((t) => !t.adminOnly && t.tenantColumn === 'tenant_id')) {
        await reader.query(`select * from ${table.name} where leak(tenant_id, 1)`)
      }
      await reader.query('rollback')
    } finally {
      await reader.close()
      await superuser.exec('drop function leak(text, int)')
    }
    expect(notices.length).toBeGreaterThan(0)
    expect(notices.filter((n) => n.includes(TENANT_B))).toEqual([])
  })
})

describe('the isolation tests can fail: each loosened policy is caught', () => {
  const mutations: [string, (t: TableUnderTest) => string][] = [
    ['USING (true)', (t) => `alter policy tenant_isolation on ${t.name} using (true)`],
    ['row level security disabled', (t) => `alter table ${t.name} disable row level security`],
    [
      'WITH CHECK (true) and write grants',
      (t) =>
        `alter policy tenant_isolation on ${t.name} with check (true); grant insert on ${t.name} to pm_reader`,
    ],
  ]

  it('every mutation of every tenant policy makes the matrix report a violation', async () => {
    const missed: string[] = []
    let mutated = 0
    for (const table of tables.filter((t) => !t.adminOnly)) {
      for (const [name, ddl] of mutations) {
        await superuser.query('begin')
        try {
          await superuser.exec(ddl(table))
          mutated++
          const result = await runMatrix(superuser, plan, { role: ROLES.reader, only: table.name })
          if (result.violations.length === 0) missed.push(`${table.name}: ${name}`)
        } finally {
          await superuser.query('rollback')
        }
      }
    }
    expect(mutated).toBe(tables.filter((t) => !t.adminOnly).length * mutations.length)
    expect(missed).toEqual([])
  })

  it('and the unmutated schema passes the same run as the superuser switching to pm_reader', async () => {
    await superuser.query('begin')
    const result = await runMatrix(superuser, plan, { role: ROLES.reader })
    await superuser.query('rollback')
    expect(result.violations).toEqual([])
  })
})
