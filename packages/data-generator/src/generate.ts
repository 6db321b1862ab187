import type { Database, DB } from '@penguinmails/schema'
import { Kysely } from 'kysely'
import pg from 'pg'
import { kyselyPgSession, pgClientSession } from './copy-stream-session.js'
import { edgeCaseRows } from './edge-cases.js'
import { insertSession } from './insert-session.js'
import type { LoadSession } from './load-session.js'
import { type GenerateOptions, resolveOptions, type SourceTable } from './options.js'
import { pgliteSession } from './pglite-copy-session.js'
import { emailRows, leadRows, structureRows } from './source-rows.js'
import { type Row, SOURCE_TABLES } from './source-tables.js'
import { loadTable } from './table-loader.js'
import { buildWorld } from './world.js'

/** Where to write: a PostgreSQL URL, a database from createDatabase, or a Kysely instance. */
export type GenerateTarget = string | Database | Kysely<DB>

export interface GenerateReport {
  seed: number
  /** the end of the window: nothing was sent at or after it */
  end: Date
  days: number
  /** rows written per table */
  rows: Record<SourceTable, number>
  /** how rows were written: COPY (PostgreSQL or PGlite) or multi-row INSERTs */
  method: 'copy' | 'insert'
  milliseconds: number
}

function isDatabase(target: GenerateTarget): target is Database {
  return typeof target === 'object' && 'kind' in target && 'db' in target
}

/** Runs `work` on one reserved connection of the target, with the fastest way it can load rows. */
async function withLoadSession<T>(
  target: GenerateTarget,
  work: (session: LoadSession) => Promise<T>,
): Promise<T> {
  if (typeof target === 'string') {
    if (!/^postgres(ql)?:\/\//.test(target)) {
      throw new Error(
        `a connection string must be a postgres:// or postgresql:// URL (got "${target.slice(0, 20)}…")`,
      )
    }
    const client = new pg.Client({
      connectionString: target,
      application_name: 'penguinmails-data-generator',
    })
    await client.connect()
    try {
      return await work(pgClientSession(client))
    } finally {
      await client.end()
    }
  }
  if (isDatabase(target)) {
    const { pglite } = target
    if (target.kind === 'pglite' && pglite) {
      // holding a Kysely connection keeps every other caller off the one embedded backend
      return await target.db.connection().execute(() => work(pgliteSession(pglite)))
    }
    return await target.db.connection().execute((conn) => work(kyselyPgSession(conn)))
  }
  if (!(target instanceof Kysely)) {
    throw new Error(
      'generateSourceData writes to a postgres:// URL, a Database or a Kysely instance',
    )
  }
  return await target.connection().execute(async (conn) => {
    const probe = insertSession(conn)
    const [v] = await probe.query<{ version: string }>('SELECT version() AS version')
    // PGlite behind Kysely cannot COPY from here (no access to its instance): INSERT instead
    return work(v?.version.includes('PGlite') ? probe : kyselyPgSession(conn))
  })
}

async function assertEmpty(session: LoadSession): Promise<void> {
  const checks = SOURCE_TABLES.map((t) => `(SELECT '${t}' WHERE EXISTS (SELECT FROM ${t}))`)
  const found = await session.query<{ table: string }>(
    `SELECT * FROM (${checks.join(' UNION ALL ')}) AS x ("table")`,
  )
  if (found.length > 0) {
    throw new Error(
      `the source tables must be empty, but ${found.map((f) => f.table).join(', ')} already ha${found.length === 1 ? 's' : 've'} rows: generate into a new database (or delete its source rows first)`,
    )
  }
}

function* concat(...parts: Iterable<Row>[]): Generator<Row> {
  for (const part of parts) yield* part
}

/**
 * Fills the empty source tables with realistic outreach activity, deterministically from the seed
 * and options; each table in a transaction of its own, in foreign-key order.
 */
export async function generateSourceData(
  target: GenerateTarget,
  options: GenerateOptions = {},
): Promise<GenerateReport> {
  const started = performance.now()
  const resolved = resolveOptions(options)
  const world = buildWorld(resolved)
  const structure = structureRows(world)
  const edge = resolved.edgeCases ? edgeCaseRows(resolved.end, resolved.emails + 1) : undefined
  const rowsOf = (table: SourceTable): { rows: Iterable<Row>; total: number } => {
    const extra = edge?.[table] ?? []
    if (table === 'leads')
      return { rows: concat(leadRows(world), extra), total: world.leads + extra.length }
    if (table === 'emails') {
      return { rows: concat(emailRows(world), extra), total: resolved.emails + extra.length }
    }
    const own = structure[table]
    return { rows: concat(own, extra), total: own.length + extra.length }
  }
  return withLoadSession(target, async (session) => {
    await assertEmpty(session)
    const rows = {} as Record<SourceTable, number>
    for (const table of SOURCE_TABLES) {
      const { rows: tableRows, total } = rowsOf(table)
      rows[table] = await loadTable(session, table, tableRows, total, options.onProgress)
    }
    return {
      seed: resolved.seed,
      end: new Date(resolved.end),
      days: resolved.days,
      rows,
      method: session.method,
      milliseconds: Math.round(performance.now() - started),
    }
  })
}
