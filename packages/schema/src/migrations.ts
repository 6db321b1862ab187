import { type Kysely, sql } from 'kysely'
import {
  type Migration,
  type MigrationProvider,
  type MigrationResult,
  Migrator,
  NO_MIGRATIONS,
} from 'kysely/migration'
import { ROLES } from './roles.js'
import { readSqlFile } from './sql-files.js'

// biome-ignore lint/suspicious/noExplicitAny: the Migrator keeps its own tables beside any schema
type AnyDb = Kysely<any>

/** Every migration, in order. Each is sql/migrations/<name>/up.sql and down.sql. */
export const MIGRATIONS = [
  '0001_source_tables',
  '0002_analytics_tables',
  '0003_admin_tables',
  '0004_row_level_security',
  '0005_change_tracking',
  '0006_audit_trail',
  '0007_maintenance',
  '0008_bi_indexes',
  '0009_billing_dirty_keys',
  '0010_tenant_data_versions',
  '0011_subject_erasure',
  '0012_freshness_probe',
] as const

export type MigrationName = (typeof MIGRATIONS)[number]

class SqlFileMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      MIGRATIONS.map((name) => {
        const up = readSqlFile(`migrations/${name}/up.sql`)
        const down = readSqlFile(`migrations/${name}/down.sql`)
        return [
          name,
          {
            up: async (db: Kysely<unknown>) => void (await sql.raw(up).execute(db)),
            down: async (db: Kysely<unknown>) => void (await sql.raw(down).execute(db)),
          },
        ]
      }),
    )
  }
}

export class MigrationError extends Error {
  constructor(
    readonly migrationName: string | undefined,
    readonly direction: 'Up' | 'Down',
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(
      migrationName
        ? `migration ${migrationName} (${direction.toLowerCase()}) failed: ${reason}; nothing of it was applied`
        : `migrating failed: ${reason}`,
      { cause },
    )
    this.name = 'MigrationError'
  }
}

export interface MigrationReport {
  applied: string[]
  direction: 'Up' | 'Down'
}

export type MigrationTarget = MigrationName | 'latest' | 'zero'

/**
 * Migrates to `target` in one transaction, as the owner role, so that every object is owned by
 * pm_owner whichever role connected (a superuser in development, pm_owner in production).
 */
export async function migrate<DB>(
  db: Kysely<DB>,
  target: MigrationTarget = 'latest',
): Promise<MigrationReport> {
  return db.connection().execute(async (connection) => {
    await sql`set role ${sql.id(ROLES.owner)}`.execute(connection)
    try {
      const migrator = new Migrator({
        db: connection as AnyDb,
        provider: new SqlFileMigrationProvider(),
      })
      const { error, results = [] } =
        target === 'latest'
          ? await migrator.migrateToLatest()
          : await migrator.migrateTo(target === 'zero' ? NO_MIGRATIONS : target)
      const failed = results.find((r: MigrationResult) => r.status === 'Error')
      if (error) throw new MigrationError(failed?.migrationName, failed?.direction ?? 'Up', error)
      return {
        applied: results
          .filter((r: MigrationResult) => r.status === 'Success')
          .map((r) => r.migrationName),
        direction: results[0]?.direction ?? 'Up',
      }
    } finally {
      await sql`reset role`.execute(connection)
    }
  })
}

/** The migrations applied so far, in order. */
export async function appliedMigrations<DB>(db: Kysely<DB>): Promise<string[]> {
  const migrator = new Migrator({ db: db as AnyDb, provider: new SqlFileMigrationProvider() })
  const all = await migrator.getMigrations()
  return all.filter((m) => m.executedAt !== undefined).map((m) => m.name)
}
