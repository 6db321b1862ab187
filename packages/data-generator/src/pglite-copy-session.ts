import type { Database } from '@penguinmails/schema'
import { columnList, type LoadSession, quoteIdent } from './load-session.js'
import { copyLine } from './source-tables.js'

const ROWS_PER_BLOB = 20_000

/**
 * COPY … FROM '/dev/blob' on embedded PGlite: each chunk of rows becomes one Blob that PGlite
 * reads as the COPY's input. The caller holds the database's only connection meanwhile.
 */
export function pgliteSession(pglite: NonNullable<Database['pglite']>): LoadSession {
  return {
    method: 'copy',
    async query(text, parameters) {
      if (!parameters || parameters.length === 0) {
        return ((await pglite.exec(text)).at(-1)?.rows ?? []) as never[]
      }
      return (await pglite.query(text, parameters as unknown[])).rows as never[]
    },
    async load(table, columns, rows) {
      const statement = `COPY ${quoteIdent(table)} (${columnList(columns)}) FROM '/dev/blob'`
      let parts: string[] = []
      const flush = async () => {
        await pglite.query(statement, [], { blob: new Blob(parts) })
        parts = []
      }
      for (const row of rows) {
        parts.push(copyLine(row))
        if (parts.length === ROWS_PER_BLOB) await flush()
      }
      if (parts.length > 0) await flush()
    },
  }
}
