import { type Kysely, sql, type Transaction } from 'kysely'
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
    await sql`select set_config('role', ${options.role ?? ROLES.reader}, true), set_config(${TENANT_SETTING}, ${tenantId}, true)`.execute(
      trx,
    )
    return fn(trx)
  })
}
