import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { recomputeInTransaction } from './recompute.js'
import { normalizeScope } from './recompute-scope.js'
import { ANALYTICS_TABLES, type AnalyticsTable } from './table-counts.js'
import { lockTenants } from './tenant-lock.js'

export interface Drift {
  table: AnalyticsTable
  tenantId: string
  /** rows a recompute would add, change or remove */
  missing: number
  unexpected: number
}

export interface VerifyResult {
  tenantsChecked: string[]
  drift: Drift[]
}

class RollbackAfterVerify extends Error {}

/**
 * Recomputes the tenants (a random sample of them, or those given) from source inside a
 * transaction that is rolled back, and reports which stored rows differ: nothing is changed.
 */
export async function verifyAnalytics(
  db: Kysely<DB>,
  options: { tenantIds?: string[]; sample?: number } = {},
): Promise<VerifyResult> {
  const tenantIds =
    options.tenantIds ??
    (
      await sql<{ id: string }>`
        select id from tenants order by random() limit ${options.sample ?? 2147483647}`.execute(db)
    ).rows.map((r) => r.id)
  const drift: Drift[] = []
  for (const tenantId of tenantIds) {
    await db
      .transaction()
      .execute(async (trx) => {
        await lockTenants(trx, [tenantId])
        for (const table of ANALYTICS_TABLES) {
          await sql`
            create temp table ${sql.id(`pm_verify_${table}`)} on commit drop as
            select to_jsonb(a) - 'updated_at' as r from ${sql.table(table)} a
             where a.tenant_id = ${tenantId}`.execute(trx)
        }
        await recomputeInTransaction(trx, normalizeScope({ tenants: [{ tenantId }] }))
        for (const table of ANALYTICS_TABLES) {
          const { rows } = await sql<{ missing: number; unexpected: number }>`
            with now_rows as (select to_jsonb(a) - 'updated_at' as r from ${sql.table(table)} a
                               where a.tenant_id = ${tenantId})
            select (select count(*) from (select r from now_rows
                      except all select r from ${sql.id(`pm_verify_${table}`)}) m)::int as missing,
                   (select count(*) from (select r from ${sql.id(`pm_verify_${table}`)}
                      except all select r from now_rows) u)::int as unexpected`.execute(trx)
          const r = rows[0]
          if (r && (r.missing > 0 || r.unexpected > 0)) drift.push({ table, tenantId, ...r })
        }
        throw new RollbackAfterVerify()
      })
      .catch((error) => {
        if (!(error instanceof RollbackAfterVerify)) throw error
      })
  }
  return { tenantsChecked: tenantIds, drift }
}
