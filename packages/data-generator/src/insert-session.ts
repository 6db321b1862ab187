import type { DB } from '@penguinmails/schema'
import { CompiledQuery, type Kysely } from 'kysely'
import { columnList, type LoadSession, quoteIdent } from './load-session.js'

const ROWS_PER_INSERT = 5000

/**
 * Multi-row INSERTs, for a Kysely instance whose connection cannot COPY (PGlite without its
 * instance at hand): each batch is one INSERT … SELECT FROM unnest(one array per column).
 */
export function insertSession(conn: Pick<Kysely<DB>, 'executeQuery'>): LoadSession {
  const query: LoadSession['query'] = async (text, parameters) =>
    (await conn.executeQuery<never>(CompiledQuery.raw(text, [...(parameters ?? [])]))).rows
  return {
    method: 'insert',
    query,
    async load(table, columns, rows) {
      const unnest = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')
      const statement = `INSERT INTO ${quoteIdent(table)} (${columnList(columns)}) SELECT * FROM unnest(${unnest})`
      let batch: (string | null)[][] = columns.map(() => [])
      let size = 0
      const flush = async () => {
        await query(statement, batch)
        batch = columns.map(() => [])
        size = 0
      }
      for (const row of rows) {
        for (let c = 0; c < columns.length; c++)
          (batch[c] as (string | null)[]).push(row[c] ?? null)
        if (++size === ROWS_PER_INSERT) await flush()
      }
      if (size > 0) await flush()
    },
  }
}
