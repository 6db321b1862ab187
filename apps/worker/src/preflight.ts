import { bootstrapDatabase, type Database, migrate, ROLES } from '@penguinmails/schema'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'

/** A reason not to start, worded for whoever deploys the worker. */
export class StartupRefusal extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StartupRefusal'
  }
}

/** The embedded database (no DATABASE_URL) is created and migrated on first use. */
export async function prepareEmbeddedDatabase(database: Database): Promise<void> {
  if (database.kind !== 'pglite') return
  await bootstrapDatabase(database.db)
  await migrate(database.db, 'latest')
}

/**
 * BullMQ keeps jobs, locks and schedulers in Redis keys without expiry: a Redis that may evict
 * keys under memory pressure would silently drop them. Only noeviction is safe.
 */
export async function checkRedis(redis: Redis, location: string): Promise<void> {
  // INFO works where CONFIG is disabled (managed Redis services)
  const info = await redis.info('memory')
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1]
  if (policy === undefined)
    throw new StartupRefusal(
      `refusing to start: could not read maxmemory-policy from Redis at ${location} (INFO memory has no maxmemory_policy). BullMQ needs maxmemory-policy noeviction.`,
    )
  if (policy !== 'noeviction')
    throw new StartupRefusal(
      `refusing to start: Redis at ${location} has maxmemory-policy ${policy}, so it may evict queue keys (jobs, locks, schedulers) under memory pressure and lose work silently. BullMQ needs noeviction: run CONFIG SET maxmemory-policy noeviction and set "maxmemory-policy noeviction" in redis.conf (or your provider's parameter group).`,
    )
}

/**
 * Refuses a role that row level security would not bind (a superuser, or BYPASSRLS): the worker
 * writes every tenant's rows through the writer's policies, and a role that bypasses them would
 * hide a policy mistake until it leaks. Also refuses a role that cannot act as pm_writer.
 */
export async function checkDatabase(database: Database): Promise<void> {
  // the embedded database's one session is PGlite's superuser by construction
  if (database.kind === 'pglite') return
  const { rows } = await sql<{
    role: string
    rolsuper: boolean
    rolbypassrls: boolean
    writer: boolean
  }>`select current_user as role, r.rolsuper, r.rolbypassrls,
            pg_has_role(current_user, ${ROLES.writer}, 'USAGE') as writer
       from pg_roles r where r.rolname = current_user`.execute(database.db)
  const me = rows[0]
  if (!me) throw new StartupRefusal('could not read the database role the worker connects as')
  const fix = `Connect as ${ROLES.writer}, the role made for the worker: DATABASE_URL=postgres://${ROLES.writer}:<password>@<host>/<database>.`
  if (me.rolsuper)
    throw new StartupRefusal(
      `refusing to start: the database role "${me.role}" is a superuser, which bypasses row level security. ${fix}`,
    )
  if (me.rolbypassrls)
    throw new StartupRefusal(
      `refusing to start: the database role "${me.role}" has BYPASSRLS, which bypasses row level security. ${fix} (or: ALTER ROLE "${me.role}" NOBYPASSRLS)`,
    )
  if (!me.writer)
    throw new StartupRefusal(
      `refusing to start: the database role "${me.role}" cannot act as ${ROLES.writer}, so it may not write the analytics tables. ${fix}`,
    )
}

/** The URL without its password, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable REDIS_URL)'
  }
}
