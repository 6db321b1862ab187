import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { createDatabase, MIGRATIONS, withTenant } from '../src/index.js'

const run = promisify(execFile)
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

async function migrateCli(env: Record<string, string>) {
  const { DATABASE_URL: _ignored, ...rest } = process.env
  return run(process.execPath, [cli, 'migrate'], { env: { ...rest, ...env } })
}

describe('the embedded database (no DATABASE_URL)', () => {
  it('is migrated by the CLI, which reports what it created, and is reused by the next run', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'pm-pglite-')), 'data')
    const first = await migrateCli({ PM_DATA_DIR: dataDir })
    expect(first.stdout).toContain(`migrating the embedded PGlite database at ${dataDir}`)
    expect(first.stdout).toContain(`applied ${MIGRATIONS.length} migration(s)`)
    expect(first.stdout).toMatch(
      /campaign_analytics, \d+ monthly partitions \(incl\. default\), row level security forced/,
    )
    expect(first.stdout).toContain('1 materialized view(s): campaign_performance_summary')
    expect(first.stdout).toContain('roles: pm_admin, pm_owner, pm_reader, pm_writer')

    const second = await migrateCli({ PM_DATA_DIR: dataDir })
    expect(second.stdout).toContain('schema already up to date')

    // the data folder persists what is written, and row level security holds on reopening
    const database = createDatabase({ dataDir })
    try {
      await sql`insert into tenants (id, name) values ('t1', 'One'), ('t2', 'Two')`.execute(
        database.db,
      )
    } finally {
      await database.destroy()
    }
    const reopened = createDatabase({ dataDir })
    try {
      const all = await reopened.db.selectFrom('tenants').select('id').orderBy('id').execute()
      expect(all.map((t) => t.id)).toEqual(['t1', 't2'])
      const scoped = await withTenant(reopened.db, 't2', (trx) =>
        trx.selectFrom('tenants').select('id').execute(),
      )
      expect(scoped).toEqual([{ id: 't2' }])
    } finally {
      await reopened.destroy()
    }
  })

  it('fails loudly, with the reason, on a malformed DATABASE_URL', async () => {
    await expect(migrateCli({ DATABASE_URL: 'mysql://x' })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('DATABASE_URL must be a postgres:// or postgresql:// URL'),
    })
  })

  it('fails loudly when PostgreSQL cannot be reached', async () => {
    await expect(
      migrateCli({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ECONNREFUSED') })
  })
})
