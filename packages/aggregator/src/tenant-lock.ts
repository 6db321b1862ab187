import { type QueryExecutorProvider, sql } from 'kysely'

// Recomputes of one tenant never overlap: each takes this transaction-level lock before it reads
// any source row, so an older snapshot can never overwrite a newer result.
const NAMESPACE = 'pm_aggregate'

/** Waits for the tenants' locks, in a fixed order so that two callers cannot deadlock. */
export async function lockTenants(trx: QueryExecutorProvider, tenantIds: string[]): Promise<void> {
  const sorted = [...new Set(tenantIds)].sort()
  if (sorted.length === 0) return
  await sql`
    select pg_advisory_xact_lock(hashtext(${NAMESPACE}), hashtext(t))
      from unnest(${sorted}::text[]) as u(t)`.execute(trx)
}

/**
 * Takes the free locks among the tenants, in the given order, stopping at `max` taken; returns the
 * tenants locked. One statement: the filter runs row by row under the LIMIT (no sort above it), so
 * no lock is taken past the last tenant returned.
 */
export async function tryLockTenants(
  trx: QueryExecutorProvider,
  tenantIds: string[],
  max: number,
): Promise<string[]> {
  if (tenantIds.length === 0 || max <= 0) return []
  const { rows } = await sql<{ tenant_id: string }>`
    select u.t as tenant_id from unnest(${tenantIds}::text[]) as u(t)
     where pg_try_advisory_xact_lock(hashtext(${NAMESPACE}), hashtext(u.t))
     limit ${Number.isFinite(max) ? max : null}`.execute(trx)
  return rows.map((r) => r.tenant_id)
}
