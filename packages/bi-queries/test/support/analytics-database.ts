import { type DB, ROLES, withTenant } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type { Kysely, Transaction } from 'kysely'
import type { Page } from '../../src/index.js'
import {
  type AnalyticsFixture,
  generateAnalyticsFixture,
  writeAnalyticsFixture,
} from '../../src/testing/index.js'

export const TENANTS = [
  { id: 'tenant-a', time_zone: 'UTC' },
  { id: 'tenant-b', time_zone: 'America/New_York' },
  { id: 'tenant-c', time_zone: 'Asia/Kolkata' },
]

export interface AnalyticsDatabase {
  database: TestDatabase
  fixture: AnalyticsFixture
  /** the API's login role: reads tenants through withTenant, the admin tables directly */
  admin: Kysely<DB>
  asTenant<T>(tenantId: string, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T>
}

/** A database of its own for the test file, with a random fixture written as the superuser. */
export async function openAnalyticsDatabase(
  label: string,
  seed: number,
): Promise<AnalyticsDatabase> {
  const database = await createTestDatabase({ label })
  const fixture = generateAnalyticsFixture({ seed, tenants: TENANTS })
  await writeAnalyticsFixture(database.connect().db, fixture)
  const admin = database.connect(ROLES.admin).db
  return {
    database,
    fixture,
    admin,
    asTenant: (tenantId, fn) => withTenant(admin, tenantId, fn),
  }
}

/** Every page of a list, `limit` rows at a time, following nextCursor. */
export async function allPages<Row>(
  fetch: (cursor: string | undefined) => Promise<Page<Row>>,
): Promise<{ rows: Row[]; pages: number }> {
  const rows: Row[] = []
  let cursor: string | undefined
  let pages = 0
  for (;;) {
    const page = await fetch(cursor)
    pages++
    rows.push(...page.rows)
    if (page.nextCursor === null) return { rows, pages }
    if (pages > 10_000) throw new Error('pagination does not end')
    cursor = page.nextCursor
  }
}

export const byKeys =
  <T>(...keys: ((row: T) => string | number)[]) =>
  (a: T, b: T): number => {
    for (const key of keys) {
      const x = key(a)
      const y = key(b)
      if (x < y) return -1
      if (x > y) return 1
    }
    return 0
  }
