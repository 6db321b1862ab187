import {
  bootstrapDatabase,
  type Database,
  lintCatalog,
  MigrationError,
  migrate,
} from '@penguinmails/schema'
import { sql } from 'kysely'

export interface SetupReport {
  applied: string[]
  superuser: boolean
}

/**
 * Creates the roles (as a superuser), applies pending migrations and refuses a catalog that fails
 * the isolation lint. Unlike the API's own start, it sets no session role: on embedded PGlite the
 * one session serves the generator and the aggregator, which write, as well as the API, whose
 * request transactions each set their role locally (pm_reader with the tenant, or pm_admin).
 */
export async function setUpDatabase(database: Database): Promise<SetupReport> {
  const boot = await bootstrapDatabase(database.db)
  const report = await migrate(database.db, 'latest').catch((error: unknown) => {
    if (!(error instanceof MigrationError) || database.kind !== 'pglite') throw error
    throw new Error(
      `${error.message}\nThe demo's database in ${database.location} was made by another version of the project: delete that folder to start over with fresh demo data.`,
      { cause: error },
    )
  })
  const violations = await lintCatalog(database.db)
  if (violations.length > 0)
    throw new Error(
      `the database catalog fails the isolation checks:\n${violations.map((v) => `  - ${v}`).join('\n')}`,
    )
  const role = await sql<{ role: string }>`select current_user as role`.execute(database.db)
  if (database.kind === 'pglite' && role.rows[0]?.role !== 'postgres')
    throw new Error(
      `the embedded session runs as ${role.rows[0]?.role}, not as its superuser: something left a session-level SET ROLE behind`,
    )
  return { applied: report.applied, superuser: boot.ranAsSuperuser }
}
