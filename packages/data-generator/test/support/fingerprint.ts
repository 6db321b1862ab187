import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { SOURCE_TABLES } from '../../src/index.js'

/**
 * An md5 per source table of its rows' text, in a fixed order: equal fingerprints mean
 * byte-identical tables. Timestamps are rendered in UTC and ordered bytewise, so PostgreSQL and
 * PGlite (whatever their session time zone and collation) fingerprint the same rows alike.
 */
export async function fingerprint(
  db: Kysely<DB>,
  where: 'all' | 'random' = 'all',
): Promise<Record<string, string>> {
  return db.transaction().execute(async (trx) => {
    await sql`set local timezone = 'UTC'`.execute(trx)
    const out: Record<string, string> = {}
    for (const table of SOURCE_TABLES) {
      const tenant = table === 'tenants' ? sql`t.id` : sql`t.tenant_id`
      const filter = where === 'random' ? sql`where ${tenant} not like 'edge-%'` : sql``
      const { rows } = await sql<{ md5: string; n: number }>`
        select md5(coalesce(string_agg(t::text, E'\n' order by t::text collate "C"), '')) as md5,
               count(*)::int as n
          from ${sql.table(table)} t ${filter}`.execute(trx)
      out[table] = `${rows[0]?.n}:${rows[0]?.md5}`
    }
    return out
  })
}
