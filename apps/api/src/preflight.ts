import { bootstrapDatabase, type Database, lintCatalog, migrate, ROLES } from '@penguinmails/schema'
import { sql } from 'kysely'

/** A reason not to serve, worded for whoever deploys the API. */
export class StartupRefusal extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StartupRefusal'
  }
}

/**
 * The embedded database (no DATABASE_URL) is created and migrated here. Its one session stays the
 * superuser PGlite connects as: every request transaction sets its role locally (pm_reader with
 * the tenant, or pm_admin), which is what row level security binds, and a session-level SET ROLE
 * would also bind whatever else shares that session (the demo's generator and aggregator).
 */
export async function prepareEmbeddedDatabase(database: Database): Promise<void> {
  if (database.kind !== 'pglite') return
  await bootstrapDatabase(database.db)
  await migrate(database.db, 'latest')
}

/**
 * Refuses a role that row level security would not bind (a superuser, or BYPASSRLS): every tenant
 * read relies on it. Then refuses a catalog that fails the isolation lint.
 */
export async function checkDatabase(database: Database): Promise<void> {
  const { rows } = await sql<{
    role: string
    rolsuper: boolean
    rolbypassrls: boolean
    reader: boolean
  }>`select current_user as role, r.rolsuper, r.rolbypassrls,
            pg_has_role(current_user, ${ROLES.reader}, 'USAGE') as reader
       from pg_roles r where r.rolname = current_user`.execute(database.db)
  const me = rows[0]
  if (!me) throw new StartupRefusal('could not read the database role the API connects as')
  const fix = `Connect as ${ROLES.admin}, the role made for the API (DATABASE_URL=postgres://${ROLES.admin}@<host>/<database>); it reads tenants through ${ROLES.reader} under row level security.`
  // on embedded PGlite the superuser session is expected: each request sets its role locally
  const embedded = database.kind === 'pglite'
  if (me.rolsuper && !embedded)
    throw new StartupRefusal(
      `refusing to start: the database role "${me.role}" is a superuser, which bypasses row level security, so tenant reads would not be isolated. ${fix}`,
    )
  if (me.rolbypassrls && !embedded)
    throw new StartupRefusal(
      `refusing to start: the database role "${me.role}" has BYPASSRLS, so tenant reads would not be isolated. ${fix} (or: ALTER ROLE "${me.role}" NOBYPASSRLS)`,
    )
  if (!me.reader)
    throw new StartupRefusal(
      `refusing to start: the database role "${me.role}" cannot act as ${ROLES.reader}, the role tenant reads run as. ${fix}`,
    )
  // result cache hits read their freshness through it (migration 0012): without it every hit fails
  const probe = await sql<{ callable: boolean | null }>`
    select case when to_regprocedure('pm_tenant_freshness(text[])') is null then null
                else has_function_privilege(${ROLES.admin}, 'pm_tenant_freshness(text[])', 'EXECUTE')
           end as callable`.execute(database.db)
  const callable = probe.rows[0]?.callable
  if (callable !== true)
    throw new StartupRefusal(
      callable === null
        ? 'refusing to start: the database lacks pm_tenant_freshness(text[]) (migration 0012_freshness_probe), which cached reads need. Migrate the database with the penguinmails-schema CLI (pnpm db:migrate).'
        : `refusing to start: ${ROLES.admin} may not execute pm_tenant_freshness(text[]), which cached reads need. GRANT EXECUTE ON FUNCTION pm_tenant_freshness(text[]) TO ${ROLES.admin}, or migrate the database again.`,
    )
  const violations = await lintCatalog(database.db)
  if (violations.length > 0)
    throw new StartupRefusal(
      `refusing to start: the database catalog fails the isolation checks:\n${violations.map((v) => `  - ${v}`).join('\n')}\nMigrate the database with the penguinmails-schema CLI (pnpm db:migrate) and fix what remains.`,
    )
}
