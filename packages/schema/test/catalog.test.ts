import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, lintCatalog } from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'

let database: TestDatabase
let db: Database['db']

beforeAll(async () => {
  database = await createTestDatabase({ label: 'catalog' })
  db = database.connect().db
})

afterAll(async () => {
  await database?.drop()
})

class Rollback extends Error {}

describe('catalog lint', () => {
  it('finds nothing wrong in a freshly migrated database', async () => {
    expect(await lintCatalog(db)).toEqual([])
  })

  it('finds nothing wrong once partitions have been added by the writer', async () => {
    await sql`select pm_ensure_monthly_partitions('campaign_analytics'::regclass, '2019-01-01', '2019-04-01')`.execute(
      db,
    )
    expect(await lintCatalog(db)).toEqual([])
  })

  it('reports each kind of violation', async () => {
    let found: string[] = []
    await db
      .transaction()
      .execute(async (trx) => {
        await sql
          .raw(`
          create table leaky (tenant_id text not null, id text not null, primary key (id));
          alter policy tenant_isolation on campaigns using (true);
          alter policy tenant_isolation on leads using (tenant_id = current_setting('app.current_tenant_id'));
          grant select on campaign_performance_summary to pm_reader;
          create view plain_view as select * from campaigns;
          grant select on plain_view to pm_reader;
          create function definer() returns int language sql security definer as 'select 1';
          grant insert on emails to pm_reader;
          alter table warmup_analytics_default no force row level security;
          create materialized view mv_without_index as select 1 as x;
          alter role pm_writer bypassrls;
        `)
          .execute(trx)
        found = await lintCatalog(trx)
        throw new Rollback()
      })
      .catch((error) => {
        if (!(error instanceof Rollback)) throw error
      })
    const expected = [
      'leaky has tenant_id but row level security is not enabled and forced',
      'primary key leaky_pkey of leaky does not include tenant_id',
      'policy tenant_isolation on campaigns applies to the tenant role',
      'policy tenant_isolation on leads applies to the tenant role',
      'campaign_performance_summary (materialized view) is selectable by pm_reader',
      'plain_view (view) is selectable by pm_reader',
      'SECURITY DEFINER function definer() does not pin search_path',
      'pm_reader may INSERT on emails',
      'warmup_analytics_default has tenant_id but row level security is not enabled and forced',
      'materialized view mv_without_index has no non-partial, non-expression unique index',
      'role pm_writer is a superuser or bypasses row level security',
    ]
    for (const sentence of expected) {
      expect(
        found.some((f) => f.startsWith(sentence)),
        sentence,
      ).toBe(true)
    }
    // the role change is cluster-wide: it was rolled back with the rest
    expect(await lintCatalog(db)).toEqual([])
  })
})
