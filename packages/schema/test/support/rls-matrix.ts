import { errorCode, type Queryable } from './queryable.js'
import { TENANT_A, TENANT_B } from './tenant-fixture.js'

export interface TableUnderTest {
  name: string
  /** the column row level security compares: tenant_id, or id for tenants */
  tenantColumn: string
  /** admin tables: the tenant role may not touch them at all */
  adminOnly: boolean
}

/** Every table of the current schema that holds tenant data, read from the catalog, not a list. */
export async function tablesUnderTest(q: Queryable): Promise<TableUnderTest[]> {
  const { rows } = await q.query<{ name: string; not_null: boolean }>(`
    select c.relname as name, a.attnotnull as not_null
      from pg_class c
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
     where c.relnamespace = current_schema()::regnamespace
       and c.relkind in ('r', 'p') and not c.relispartition
     order by 1`)
  return [
    { name: 'tenants', tenantColumn: 'id', adminOnly: false },
    ...rows.map((r) => ({ name: r.name, tenantColumn: 'tenant_id', adminOnly: !r.not_null })),
  ]
}

export const CONTEXTS = [
  { name: 'own tenant', value: TENANT_A },
  { name: 'other tenant', value: TENANT_B },
  { name: 'unset', value: null },
  { name: "''", value: '' },
  { name: 'SQL-looking', value: "x' OR '1'='1" },
] as const

export const OPERATIONS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const

export interface MatrixResult {
  checks: number
  violations: string[]
}

/**
 * Runs every (table, operation, context) as `role` on one connection and lists what goes wrong:
 * a row of another tenant seen, an own row missing, a write that did not fail with 42501, an error
 * where an unset tenant should simply see nothing. Each check runs in a savepoint that is rolled
 * back, so the caller may wrap the whole run in a transaction (and mutate policies in it first).
 */
export interface MatrixPlan {
  tables: TableUnderTest[]
  /** per table: its insertable columns and a row of tenant B to try inserting */
  inserts: Map<string, { columns: string[]; row: unknown }>
  /** rows per table and tenant, counted by a role that sees everything */
  totals: Map<string, number>
}

/** Reads, as a superuser, what the matrix compares against. */
export async function planMatrix(q: Queryable, tables: TableUnderTest[]): Promise<MatrixPlan> {
  const inserts = new Map<string, { columns: string[]; row: unknown }>()
  const totals = new Map<string, number>()
  for (const table of tables) {
    const { rows: cols } = await q.query<{ attname: string }>(
      `select attname from pg_attribute where attrelid = $1::regclass and attnum > 0
          and not attisdropped and attidentity <> 'a' and attgenerated = '' order by attnum`,
      [table.name],
    )
    const { rows } = await q.query<{ row: unknown }>(
      `select to_jsonb(x) as row from ${table.name} x where ${table.tenantColumn} = $1 limit 1`,
      [TENANT_B],
    )
    inserts.set(table.name, { columns: cols.map((c) => c.attname), row: rows[0]?.row })
    for (const tenant of [TENANT_A, TENANT_B]) {
      const { rows } = await q.query<{ n: number }>(
        `select count(*)::int as n from ${table.name} where ${table.tenantColumn} = $1`,
        [tenant],
      )
      totals.set(`${table.name}/${tenant}`, rows[0]?.n ?? 0)
    }
  }
  return { tables, inserts, totals }
}

/**
 * Runs every (table, operation, context) as `role` on one connection and lists what goes wrong:
 * a row of another tenant seen, an own row missing, a write that did not fail with 42501, an error
 * where an unset tenant should simply see nothing. Each check runs in a savepoint that is rolled
 * back, so the caller wraps the run in a transaction (and may mutate policies in it first).
 */
export async function runMatrix(
  q: Queryable,
  plan: MatrixPlan,
  options: { role: string; only?: string },
): Promise<MatrixResult> {
  const violations: string[] = []
  let checks = 0
  const { inserts: inserted, totals } = plan
  const tables = plan.tables.filter((t) => !options.only || t.name === options.only)
  for (const table of tables) {
    for (const context of CONTEXTS) {
      for (const op of OPERATIONS) {
        checks++
        const where = `${table.name} ${op} as ${context.name}`
        await q.query('savepoint matrix_check')
        try {
          await q.query(`select set_config('role', $1, true)`, [options.role])
          if (context.value !== null) {
            await q.query(`select set_config('app.current_tenant_id', $1, true)`, [context.value])
          }
          if (op === 'SELECT') {
            const { rows } = await q.query<{ t: string }>(
              `select ${table.tenantColumn} as t from ${table.name}`,
            )
            if (table.adminOnly) {
              violations.push(`${where}: readable (${rows.length} rows)`)
              continue
            }
            const foreign = rows.filter((r) => r.t !== context.value).length
            if (foreign > 0) violations.push(`${where}: sees ${foreign} row(s) of another tenant`)
            const expected = context.value ? (totals.get(`${table.name}/${context.value}`) ?? 0) : 0
            if (rows.length - foreign !== expected) {
              violations.push(
                `${where}: sees ${rows.length - foreign} own row(s), expected ${expected}`,
              )
            }
          } else {
            const sql =
              op === 'INSERT'
                ? insertSql(table.name, inserted.get(table.name)?.columns ?? [])
                : op === 'UPDATE'
                  ? `update ${table.name} set ${table.tenantColumn} = ${table.tenantColumn}`
                  : `delete from ${table.name}`
            const params = op === 'INSERT' ? [JSON.stringify(inserted.get(table.name)?.row)] : []
            await q.query(sql, params)
            violations.push(`${where}: the write succeeded`)
          }
        } catch (error) {
          const code = errorCode(error)
          if (op === 'SELECT' && !table.adminOnly) {
            violations.push(`${where}: raised ${code} (${(error as Error).message})`)
          } else if (code !== '42501') {
            violations.push(
              `${where}: failed with ${code}, not 42501 (${(error as Error).message})`,
            )
          }
        } finally {
          await q.query('rollback to savepoint matrix_check')
        }
      }
    }
  }
  for (const table of tables) {
    if (!inserted.get(table.name)?.row) violations.push(`${table.name}: the fixture has no rows`)
  }
  return { checks, violations }
}

function insertSql(table: string, columns: string[]): string {
  const list = columns.map((c) => `"${c}"`).join(', ')
  return `insert into ${table} (${list}) select ${list} from jsonb_populate_record(null::${table}, $1::jsonb)`
}
