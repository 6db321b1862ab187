import type { DB } from '@penguinmails/schema'
import type { Kysely } from 'kysely'

/**
 * Whether the tenant has this campaign. Row level security hides other tenants' campaigns too, so
 * another tenant's id and an id that never existed look the same: not found.
 */
export async function campaignExists(
  db: Kysely<DB>,
  tenantId: string,
  campaignId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('campaigns')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', campaignId)
    .executeTakeFirst()
  return row !== undefined
}
