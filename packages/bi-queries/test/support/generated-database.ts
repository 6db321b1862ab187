import { recomputeAll } from '@penguinmails/aggregator'
import { type GenerateOptions, generateSourceData } from '@penguinmails/data-generator'
import { type DB, ROLES, withTenant } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type { Kysely, Transaction } from 'kysely'

export interface GeneratedDatabase {
  database: TestDatabase
  /** a superuser, to look around the source without row level security */
  su: Kysely<DB>
  asTenant<T>(tenantId: string, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T>
}

/**
 * A database of the test file's own, filled by @penguinmails/data-generator and aggregated by
 * @penguinmails/aggregator as the writer role: the pipeline's real output, not a fixture.
 */
export async function openGeneratedDatabase(
  label: string,
  options: GenerateOptions,
): Promise<GeneratedDatabase> {
  const database = await createTestDatabase({ label })
  await generateSourceData(database.url(), options)
  await recomputeAll(database.connect(ROLES.writer).db)
  const admin = database.connect(ROLES.admin).db
  return {
    database,
    su: database.connect().db,
    asTenant: (tenantId, fn) => withTenant(admin, tenantId, fn),
  }
}
