import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import {
  appliedMigrations,
  bootstrapDatabase,
  createDatabase,
  type Database,
  lintCatalog,
  MIGRATIONS,
  migrate,
  ROLES,
} from '../src/index.js'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'
import { pgliteConnection } from './support/queryable.js'
import { insertTenantFixture } from './support/tenant-fixture.js'

const cleanup: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn()
})

async function objectsOf(db: Database['db']): Promise<string[]> {
  const { rows } = await sql<{ o: string }>`
    select c.relkind::text || ' ' || c.relname as o from pg_class c
     where c.relnamespace = current_schema()::regnamespace and c.relname not like 'kysely%'
    union all
    select 'f ' || p.proname from pg_proc p where p.pronamespace = current_schema()::regnamespace
    union all
    select 'policy ' || policyname || ' ' || tablename from pg_policies where schemaname = current_schema()
     order by 1`.execute(db)
  return rows.map((r) => r.o)
}

async function cycle(database: Database, withData: (db: Database) => Promise<void>) {
  await bootstrapDatabase(database.db)
  const before = await objectsOf(database.db)
  for (let round = 1; round <= 2; round++) {
    const up = await migrate(database.db, 'latest')
    expect(up.applied).toEqual([...MIGRATIONS])
    expect(await appliedMigrations(database.db)).toEqual([...MIGRATIONS])
    await withData(database)
    const down = await migrate(database.db, 'zero')
    expect(down.applied).toEqual([...MIGRATIONS].reverse())
    expect(await appliedMigrations(database.db)).toEqual([])
    // down leaves nothing behind: the schema is as it was before the first migration
    expect(await objectsOf(database.db)).toEqual(before)
  }
  await migrate(database.db, 'latest')
  expect(await lintCatalog(database.db)).toEqual([])
}

describe('migrations on PostgreSQL', () => {
  async function freshDatabase(label: string): Promise<TestDatabase> {
    const database = await createTestDatabase({ migrated: false, label })
    cleanup.push(() => database.drop())
    return database
  }

  it('go up and down twice on an empty database', async () => {
    const database = await freshDatabase('mig_empty')
    await cycle(database.connect(), async () => {})
  })

  it('go up and down twice on a database holding data', async () => {
    const database = await freshDatabase('mig_data')
    let rows = 0
    await cycle(database.connect(), async (d) => {
      await d.db.connection().execute(async (conn) => {
        await insertTenantFixture({
          query: () => Promise.reject(new Error('the fixture only runs statements')),
          exec: async (text) => void (await sql.raw(text).execute(conn)),
          close: async () => {},
        })
      })
      const { rows: counted } = await sql<{
        n: number
      }>`select count(*)::int as n from emails`.execute(d.db)
      rows = counted[0]?.n ?? 0
    })
    expect(rows).toBe(4)
  })

  it('create every object owned by pm_owner when a superuser migrates', async () => {
    const database = await freshDatabase('mig_owner')
    const { db } = database.connect()
    await bootstrapDatabase(db)
    await migrate(db)
    const { rows } = await sql<{ owner: string; n: number }>`
      select pg_get_userbyid(relowner) as owner, count(*)::int as n from pg_class
       where relnamespace = current_schema()::regnamespace and relkind in ('r', 'p', 'm', 'i', 'S')
       group by 1`.execute(db)
    expect(rows).toEqual([{ owner: ROLES.owner, n: expect.any(Number) }])
  })

  it('run as pm_owner itself once a superuser has bootstrapped the database', async () => {
    const database = await freshDatabase('mig_as_owner')
    await bootstrapDatabase(database.connect().db)
    const owner = database.connect(ROLES.owner)
    expect(await bootstrapDatabase(owner.db)).toEqual({ ranAsSuperuser: false })
    const report = await migrate(owner.db)
    expect(report.applied).toEqual([...MIGRATIONS])
  })

  it('refuse to run as another role, saying what to do', async () => {
    const database = await freshDatabase('mig_refuse')
    await bootstrapDatabase(database.connect().db)
    const reader = database.connect(ROLES.reader)
    await expect(bootstrapDatabase(reader.db)).rejects.toThrow(
      /migrations run as pm_owner; connect as pm_owner \(or a superuser\), not as pm_reader/,
    )
  })

  it('roll back a failing migration whole, naming it', async () => {
    const database = await freshDatabase('mig_fail')
    const { db } = database.connect()
    await bootstrapDatabase(db)
    // a table the first migration wants to create already exists
    await sql`create table leads (id text)`.execute(db)
    await expect(migrate(db)).rejects.toThrow(
      /migration 0001_source_tables \(up\) failed: .*"leads"/,
    )
    expect(await objectsOf(db)).toEqual(['r leads'])
  })
})

describe('migrations on embedded PGlite', () => {
  it('go up and down twice, empty and holding data', async () => {
    const database = createDatabase({ dataDir: 'memory://' })
    cleanup.push(() => database.destroy())
    await cycle(database, async (d) => {
      if (!d.pglite) throw new Error('expected PGlite')
      await insertTenantFixture(pgliteConnection(d.pglite))
    })
  })
})
