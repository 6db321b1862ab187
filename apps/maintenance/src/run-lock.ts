import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'

// One lock for every maintenance command: two runs never overlap, whatever their commands. It is
// a session lock, held by the run's connection, so it goes away with the session if the runner dies.
const NAMESPACE = 'pm_maintenance'

export interface LockHolder {
  pid: number
  applicationName: string
  since: Date | null
}

/** Takes the maintenance lock on `conn`; with `wait`, waits for it, else says who holds it. */
export async function acquireRunLock(
  conn: Kysely<DB>,
  options: { wait: boolean; onWait?: (holder: LockHolder | undefined) => void },
): Promise<{ acquired: true } | { acquired: false; holder: LockHolder | undefined }> {
  const { rows } = await sql<{ ok: boolean }>`
    select pg_try_advisory_lock(hashtext(${NAMESPACE}), 0) as ok`.execute(conn)
  if (rows[0]?.ok) return { acquired: true }
  const holder = await lockHolder(conn)
  if (!options.wait) return { acquired: false, holder }
  options.onWait?.(holder)
  // waiting is the point here: no timeout may cut it short (the caller sets its own afterwards)
  await sql`set lock_timeout = 0`.execute(conn)
  await sql`set statement_timeout = 0`.execute(conn)
  await sql`select pg_advisory_lock(hashtext(${NAMESPACE}), 0)`.execute(conn)
  return { acquired: true }
}

export async function releaseRunLock(conn: Kysely<DB>): Promise<void> {
  await sql`select pg_advisory_unlock(hashtext(${NAMESPACE}), 0)`.execute(conn)
}

async function lockHolder(conn: Kysely<DB>): Promise<LockHolder | undefined> {
  const { rows } = await sql<{ pid: number; application_name: string; since: Date | null }>`
    select a.pid, a.application_name, a.backend_start as since
      from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and l.objsubid = 2
       and l.database = (select oid from pg_database where datname = current_database())
       and l.classid = hashtext(${NAMESPACE})::oid and l.objid = 0
     limit 1`.execute(conn)
  const row = rows[0]
  return row ? { pid: row.pid, applicationName: row.application_name, since: row.since } : undefined
}
