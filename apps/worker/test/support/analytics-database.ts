import { recomputeAll } from '@penguinmails/aggregator'
import { type Database, type DB, ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { type Kysely, sql } from 'kysely'
import {
  computeContract,
  insertEdgeCaseFixture,
  readAnalytics,
  readSource,
  sortTables,
} from './aggregator-support.js'

export interface AnalyticsDatabase {
  test: TestDatabase
  /** superuser: writes the source as the platform would, reads everything */
  su: Kysely<DB>
  /** pm_writer: what the worker connects as */
  writer: Database
  writerUrl: string
}

/** A database of its own with the edge-case fixture, its analytics computed, no dirty key. */
export async function createAnalyticsDatabase(
  label: string,
  { aggregated = true } = {},
): Promise<AnalyticsDatabase> {
  const test = await createTestDatabase({ label })
  const su = test.connect().db
  await insertEdgeCaseFixture(su)
  const writer = test.connect(ROLES.writer)
  if (aggregated) await recomputeAll(writer.db)
  return { test, su, writer, writerUrl: test.url(ROLES.writer) }
}

export async function dirtyKeyCount(db: Kysely<DB>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from analytics_dirty_keys`.execute(db)
  return rows[0]?.n ?? 0
}

/**
 * Each analytics table whose rows differ from the contract computed in TypeScript over the
 * current source, with the number of differing rows; empty when every table is exact.
 */
export async function driftFromContract(db: Kysely<DB>): Promise<Record<string, number>> {
  const expected = sortTables(computeContract(await readSource(db)))
  const actual = await readAnalytics(db)
  const drift: Record<string, number> = {}
  for (const table of Object.keys(expected) as (keyof typeof expected)[]) {
    const want = new Set(expected[table].map((r) => JSON.stringify(r)))
    const have = new Set(actual[table].map((r) => JSON.stringify(r)))
    const differing =
      [...want].filter((r) => !have.has(r)).length + [...have].filter((r) => !want.has(r)).length
    if (differing > 0) drift[table] = differing
  }
  return drift
}

/** Polls until `check` returns true; returns the milliseconds it took, throws at the timeout. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await check()) return performance.now() - started
    if (performance.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
