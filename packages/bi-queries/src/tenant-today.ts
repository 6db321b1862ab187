import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'

/** Today's date in the tenant's time zone (UTC's when the tenant row is not visible). */
export async function tenantToday(db: Kysely<DB>, tenantId: string): Promise<string> {
  const { rows } = await sql<{ today: string }>`
    select coalesce((select (now() at time zone t.time_zone)::date from tenants t where t.id = ${tenantId}),
                    (now() at time zone 'UTC')::date) as today`.execute(db)
  return (rows[0] as { today: string }).today
}
