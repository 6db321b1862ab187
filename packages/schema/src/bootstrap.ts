import { type QueryExecutorProvider, sql } from 'kysely'
import { APP_ROLES, ROLES } from './roles.js'
import { readSqlFile } from './sql-files.js'

export interface BootstrapResult {
  /** false when the connected role may not create roles: they must already exist */
  ranAsSuperuser: boolean
}

/**
 * Creates the project's roles (once per cluster) and lets the owner create objects in the current
 * schema. Needs a superuser; as any other role it only checks that a superuser has done it.
 */
export async function bootstrapDatabase(db: QueryExecutorProvider): Promise<BootstrapResult> {
  const { rows } = await sql<{ rolsuper: boolean; user: string }>`
    select rolsuper, current_user as user from pg_roles where rolname = current_user`.execute(db)
  const me = rows[0]
  if (me?.rolsuper) {
    await runIgnoringRaces(db, readSqlFile('bootstrap/roles.sql'))
    await sql.raw(readSqlFile('bootstrap/database.sql')).execute(db)
    return { ranAsSuperuser: true }
  }
  const existing = await sql<{ rolname: string }>`
    select rolname from pg_roles where rolname = any(${[...APP_ROLES]})`.execute(db)
  const missing = APP_ROLES.filter((r) => !existing.rows.some((e) => e.rolname === r))
  if (missing.length > 0) {
    throw new Error(
      `roles ${missing.join(', ')} do not exist and ${me?.user ?? 'this role'} cannot create them: ` +
        'run sql/bootstrap/roles.sql and sql/bootstrap/database.sql as a superuser once, then migrate again',
    )
  }
  const owner = await sql<{ ok: boolean }>`
    select pg_has_role(current_user, ${ROLES.owner}, 'MEMBER') as ok`.execute(db)
  if (!owner.rows[0]?.ok) {
    throw new Error(
      `migrations run as ${ROLES.owner}; connect as ${ROLES.owner} (or a superuser), not as ${me?.user}`,
    )
  }
  return { ranAsSuperuser: false }
}

// Roles are cluster-wide: two databases bootstrapped at once may both try to create them.
async function runIgnoringRaces(db: QueryExecutorProvider, text: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sql.raw(text).execute(db)
      return
    } catch (error) {
      const code = (error as { code?: string }).code
      if (attempt < 5 && (code === '23505' || code === '42710' || code === 'XX000')) continue
      throw error
    }
  }
}
