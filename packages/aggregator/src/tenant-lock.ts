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

/** Takes the tenant's lock if it is free; false when another recompute holds it. */
export async function tryLockTenant(
  trx: QueryExecutorProvider,
  tenantId: string,
): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`
    select pg_try_advisory_xact_lock(hashtext(${NAMESPACE}), hashtext(${tenantId})) as locked`.execute(
    trx,
  )
  return rows[0]?.locked === true
}
