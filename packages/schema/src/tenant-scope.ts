import { CompiledQuery, type Kysely, sql, type Transaction } from 'kysely'
import pg from 'pg'
import type { Database } from './create-database.js'
import type { DB } from './database-types.js'
import { ROLES, type RoleName, TENANT_SETTING } from './roles.js'

export interface TenantScopeOptions {
  /** The role the transaction runs as; it must be the connected role or one it belongs to. */
  role?: RoleName
  /**
   * 'repeatable read' makes every statement of `fn` read one snapshot, so figures read by separate
   * statements (a freshness watermark and the rows it describes, a total and its parts) agree.
   * Keep the default for transactions that also write rows others update (a hash-chain head):
   * there a concurrent commit makes the write fail with a serialization error.
   */
  isolation?: 'read committed' | 'repeatable read'
  /**
   * More settings local to the transaction (statement_timeout, …), set by the same statement as the
   * role and the tenant: one round trip to the database instead of one per setting.
   */
  settings?: Readonly<Record<string, string>>
}

/**
 * Runs `fn` in one transaction as the reader role with app.current_tenant_id set for that
 * transaction only: row level security then shows the tenant's rows alone, even to a query that
 * forgets its tenant filter, and nothing is left on a pooled connection afterwards. On PGlite, which
 * connects as a superuser, the SET ROLE is what makes row level security apply at all.
 */
export async function withTenant<DB, T>(
  db: Kysely<DB>,
  tenantId: string,
  fn: (trx: Transaction<DB>) => Promise<T>,
  options: TenantScopeOptions = {},
): Promise<T> {
  if (tenantId.length === 0) throw new Error('withTenant: tenantId is empty')
  const transaction = options.isolation
    ? db.transaction().setIsolationLevel(options.isolation)
    : db.transaction()
  return transaction.execute(async (trx) => {
    const more = Object.entries(options.settings ?? {}).map(
      ([name, value]) => sql`, set_config(${name}, ${value}, true)`,
    )
    await sql`select set_config('role', ${options.role ?? ROLES.reader}, true), set_config(${TENANT_SETTING}, ${tenantId}, true)${sql.join(more, sql``)}`.execute(
      trx,
    )
    return fn(trx)
  })
}

/**
 * Runs one read-only statement as withTenant would (in a transaction of its own, with the role, the
 * tenant and `settings` local to it, row level security applying) and returns its rows, in ONE
 * round trip on PostgreSQL: the settings and the statement go as one simple-protocol message, which
 * PostgreSQL runs as one implicit transaction (settings made with set_config(…, true) end with it,
 * as at a COMMIT); the tenant and the settings are inlined as escaped literals, and the
 * transaction is read only. `text` names the tenant as `$1` (and takes no other parameter). A
 * single statement reads one snapshot, so `isolation` does not apply. On PGlite (no pg pool) it
 * runs through withTenant. For the cheapest reads on the hottest path (the read API's freshness
 * and data version); anything else should use withTenant.
 */
export async function queryAsTenant<Row>(
  database: Pick<Database, 'db' | 'pool'>,
  tenantId: string,
  text: string,
  options: TenantScopeOptions = {},
): Promise<Row[]> {
  if (tenantId.length === 0) throw new Error('queryAsTenant: tenantId is empty')
  const { pool } = database
  if (!pool)
    return withTenant(
      database.db as Kysely<DB>,
      tenantId,
      async (trx) => (await trx.executeQuery<Row>(CompiledQuery.raw(text, [tenantId]))).rows,
      options,
    )
  const literal = (value: string) => pg.escapeLiteral(value)
  const settings = Object.entries({
    role: options.role ?? ROLES.reader,
    [TENANT_SETTING]: tenantId,
    ...options.settings,
    transaction_read_only: 'on',
  }).map(([name, value]) => `set_config(${literal(name)}, ${literal(value)}, true)`)
  // no BEGIN/COMMIT: the message is one implicit transaction (half the statements to run). An
  // error rolls it back and pool.query discards the connection.
  const batch = `select ${settings.join(', ')};\n${text.replaceAll('$1', literal(tenantId))}`
  const results = (await pool.query(batch)) as unknown as pg.QueryResult[]
  return (results[1]?.rows ?? []) as Row[]
}

/**
 * Runs one read-only statement as `role`, without a tenant, in ONE round trip on PostgreSQL, the
 * way queryAsTenant does (the role and `settings` local to the statement's implicit transaction).
 * `text` names a list of strings as `$1` (a `text[]`), sent inline as escaped literals. On PGlite
 * (no pg pool) it runs in a transaction of its own with `$1` bound.
 */
export async function queryAsRole<Row>(
  database: Pick<Database, 'db' | 'pool'>,
  role: RoleName,
  text: string,
  list: readonly string[],
  options: Pick<TenantScopeOptions, 'settings'> = {},
): Promise<Row[]> {
  const settings = { role, ...options.settings, transaction_read_only: 'on' }
  const { pool } = database
  if (!pool)
    return (database.db as Kysely<DB>).transaction().execute(async (trx) => {
      const set = Object.entries(settings).map(
        ([name, value]) => sql`set_config(${name}, ${value}, true)`,
      )
      await sql`select ${sql.join(set)}`.execute(trx)
      return (await trx.executeQuery<Row>(CompiledQuery.raw(text, [list]))).rows
    })
  const literal = (value: string) => pg.escapeLiteral(value)
  const set = Object.entries(settings).map(
    ([name, value]) => `set_config(${literal(name)}, ${literal(value)}, true)`,
  )
  const array = `array[${list.map(literal).join(', ')}]::text[]`
  const batch = `select ${set.join(', ')};\n${text.replaceAll('$1', array)}`
  const results = (await pool.query(batch)) as unknown as pg.QueryResult[]
  return (results[1]?.rows ?? []) as Row[]
}
