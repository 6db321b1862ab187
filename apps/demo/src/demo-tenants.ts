import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'

export interface DemoTenants {
  /** the tenant the printed tokens are issued for: the one that sent the most campaign emails */
  featured: string
  /** every tenant id, for the admin's tenant switch (at most the first 50) */
  ids: string[]
  total: number
}

export async function countTenants(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom('tenants')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function demoTenants(db: Kysely<DB>): Promise<DemoTenants> {
  const busiest = await db
    .selectFrom('billing_analytics')
    .select('tenant_id')
    .groupBy('tenant_id')
    .orderBy(sql`sum(emails_sent)`, 'desc')
    .orderBy('tenant_id')
    .limit(1)
    .executeTakeFirst()
  const ids = (await db.selectFrom('tenants').select('id').orderBy('id').limit(50).execute()).map(
    (t) => t.id,
  )
  const featured = busiest?.tenant_id ?? ids[0]
  if (!featured) throw new Error('the database has no tenant: nothing to show')
  return { featured, ids, total: await countTenants(db) }
}
