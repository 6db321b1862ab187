import { columnList, type LoadSession, quoteIdent } from './load-session.js'
import type { GenerateProgress, SourceTable } from './options.js'
import { COLUMNS, type Row } from './source-tables.js'

const PROGRESS_EVERY = 10_000
/** From this many rows on, secondary indexes are built once after the load instead of row by row. */
const REBUILD_INDEXES_FROM = 100_000

interface IndexDefinition {
  name: string
  definition: string
}

/**
 * The table's plain secondary indexes (not unique, backing no constraint), when the current role
 * owns the table: those the load may drop and recreate, identically, in its own transaction.
 */
async function rebuildableIndexes(session: LoadSession, table: string): Promise<IndexDefinition[]> {
  return session.query<IndexDefinition>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name,
            pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class t ON t.oid = i.indrelid
      WHERE i.indrelid = $1::regclass AND NOT i.indisunique AND NOT i.indisprimary
        AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        AND pg_has_role(current_user, t.relowner, 'USAGE')
      ORDER BY c.relname`,
    [table],
  )
}

/**
 * Writes one table's rows in one transaction: all of them or, when anything fails, none. COPY is
 * refused on a table whose row level security applies to the current role (pm_writer): then the
 * rows are copied into a temporary table and moved with one INSERT … SELECT, which the policies allow.
 * A large load by the table's owner drops the plain secondary indexes and builds them again from
 * their own definitions before committing (a sorted build beats a million single inserts); the
 * transaction holds the table exclusively meanwhile, and nobody ever sees it without them.
 */
export async function loadTable(
  session: LoadSession,
  table: SourceTable,
  rows: Iterable<Row>,
  total: number,
  onProgress: ((progress: GenerateProgress) => void) | undefined,
): Promise<number> {
  const columns = COLUMNS[table]
  let written = 0
  function* counted(): Generator<Row> {
    for (const row of rows) {
      yield row
      if (++written % PROGRESS_EVERY === 0) onProgress?.({ table, rows: written, total })
    }
  }
  await session.query('BEGIN')
  try {
    let target = table as string
    if (session.method === 'copy') {
      const [rls] = await session.query<{ active: boolean }>(
        'SELECT row_security_active($1::regclass) AS active',
        [table],
      )
      if (rls?.active) {
        target = `pm_generated_${table}`
        await session.query(
          `CREATE TEMPORARY TABLE ${quoteIdent(target)} (LIKE ${quoteIdent(table)} INCLUDING DEFAULTS) ON COMMIT DROP`,
        )
      }
    }
    const rebuilt =
      total >= REBUILD_INDEXES_FROM && target === table
        ? await rebuildableIndexes(session, table)
        : []
    if (rebuilt.length > 0) {
      await session.query(`DROP INDEX ${rebuilt.map((i) => i.name).join(', ')}`)
    }
    await session.load(target, columns, counted())
    if (rebuilt.length > 0) {
      await session.query("SET LOCAL maintenance_work_mem = '256MB'")
      for (const index of rebuilt) await session.query(index.definition)
    }
    if (target !== table) {
      const list = columnList(columns)
      await session.query(
        `INSERT INTO ${quoteIdent(table)} (${list}) SELECT ${list} FROM ${quoteIdent(target)}`,
      )
    }
    if (written !== total) {
      throw new Error(
        `${written} rows were generated where ${total} were planned (a generator bug)`,
      )
    }
    await session.query('COMMIT')
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined)
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`writing ${table} failed after ${written} rows, all rolled back: ${reason}`, {
      cause: error,
    })
  }
  onProgress?.({ table, rows: written, total })
  return written
}
