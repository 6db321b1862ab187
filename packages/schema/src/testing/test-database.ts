import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import pg from 'pg'
import { bootstrapDatabase } from '../bootstrap.js'
import { createDatabase, type Database } from '../create-database.js'
import { migrate } from '../migrations.js'
import type { RoleName } from '../roles.js'
import { sqlDirectory } from '../sql-files.js'

/**
 * A superuser connection to a maintenance database of the test cluster. Each test file gets a
 * database of its own, cloned from a migrated template, so that files run in parallel.
 */
export const TEST_SERVER_URL =
  process.env.PM_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase {
  readonly name: string
  /** The database's URL, connecting as `role` (a superuser when absent). */
  url(role?: RoleName): string
  /** Opens a Kysely database on it, as `role` (a superuser when absent). Closed by drop(). */
  connect(role?: RoleName): Database
  drop(): Promise<void>
}

export interface TestDatabaseOptions {
  /** false: an empty database with no migrations (for migration tests). */
  migrated?: boolean
  /** A prefix naming the test in pg_stat_activity and pg_database. */
  label?: string
}

function urlFor(database: string, user?: string): string {
  const url = new URL(TEST_SERVER_URL)
  url.pathname = `/${database}`
  if (user) {
    url.username = user
    url.password = ''
  }
  return url.toString()
}

/**
 * A hash of every SQL file and of the month: a template is rebuilt whenever the DDL changes, and
 * monthly, since migrating creates the partitions of the months around the current one.
 */
function sqlFingerprint(): string {
  const hash = createHash('sha256').update(new Date().toISOString().slice(0, 7))
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = `${dir}/${entry}`
      if (statSync(path).isDirectory()) walk(path)
      else hash.update(path.slice(dir.length)).update(readFileSync(path))
    }
  }
  walk(sqlDirectory().replace(/\/$/, ''))
  return hash.digest('hex').slice(0, 12)
}

async function withServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL, application_name: 'pm-test' })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function ensureTemplate(): Promise<string> {
  const template = `pm_template_${sqlFingerprint()}`
  await withServer(async (client) => {
    // one builder per cluster; the other test files wait here
    await client.query('select pg_advisory_lock(hashtext($1))', ['pm_test_template'])
    try {
      const found = await client.query<{ datistemplate: boolean }>(
        'select datistemplate from pg_database where datname = $1',
        [template],
      )
      if (found.rows[0]?.datistemplate) return
      if (found.rows.length > 0) await client.query(`drop database "${template}" with (force)`)
      await client.query(`create database "${template}"`)
      const database = createDatabase({ databaseUrl: urlFor(template), maxConnections: 1 })
      try {
        await bootstrapDatabase(database.db)
        await migrate(database.db, 'latest')
      } finally {
        await database.destroy()
      }
      // marks it complete; a half-built template is rebuilt by the next caller
      await client.query(`alter database "${template}" is_template true`)
      await client.query(`comment on database "${template}" is '${new Date().toISOString()}'`)
      await dropStaleTemplates(client, template)
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', ['pm_test_template'])
    }
  })
  return template
}

// Another tree (a concurrent run) may still clone an older template: only those built over a day ago go.
async function dropStaleTemplates(client: pg.Client, current: string): Promise<void> {
  const stale = await client.query<{ datname: string }>(
    `select datname from pg_database d
      where datname like 'pm\\_template\\_%' and datname <> $1
        and coalesce(shobj_description(d.oid, 'pg_database'), '') < $2`,
    [current, new Date(Date.now() - 86_400_000).toISOString()],
  )
  for (const { datname } of stale.rows) {
    await client.query(`alter database "${datname}" is_template false`)
    await client.query(`drop database "${datname}" with (force)`)
  }
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const label = (options.label ?? 'db')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20)
  const name = `pm_test_${label}_${randomBytes(4).toString('hex')}`
  if (options.migrated === false) {
    await withServer((client) => client.query(`create database "${name}"`))
  } else {
    const template = await ensureTemplate()
    await withServer((client) => client.query(`create database "${name}" template "${template}"`))
  }
  const opened: Database[] = []
  return {
    name,
    url: (role) => urlFor(name, role),
    connect(role) {
      const database = createDatabase({
        databaseUrl: urlFor(name, role),
        maxConnections: 5,
        applicationName: `pm-test-${label}`,
      })
      opened.push(database)
      return database
    },
    async drop() {
      await Promise.all(opened.map((d) => d.destroy()))
      await withServer((client) => client.query(`drop database if exists "${name}" with (force)`))
    },
  }
}
