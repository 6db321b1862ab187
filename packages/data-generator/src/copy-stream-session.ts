import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { DB } from '@penguinmails/schema'
import { CompiledQuery, type Kysely } from 'kysely'
import type pg from 'pg'
import copyStreams from 'pg-copy-streams'
import { columnList, type LoadSession, quoteIdent } from './load-session.js'
import { copyLine, type Row } from './source-tables.js'

type CopyStream = ReturnType<typeof copyStreams.from>

/** Rows as COPY text, a few thousand lines per chunk, produced only as fast as the server reads. */
function* copyChunks(rows: Iterable<Row>): Generator<string> {
  let chunk = ''
  let lines = 0
  for (const row of rows) {
    chunk += copyLine(row)
    if (++lines === 2000) {
      yield chunk
      chunk = ''
      lines = 0
    }
  }
  if (lines > 0) yield chunk
}

function copySession(
  query: LoadSession['query'],
  submit: (stream: CopyStream) => Promise<void>,
): LoadSession {
  return {
    method: 'copy',
    query,
    async load(table, columns, rows) {
      const stream = copyStreams.from(
        `COPY ${quoteIdent(table)} (${columnList(columns)}) FROM STDIN`,
      )
      await submit(stream)
      await pipeline(Readable.from(copyChunks(rows)), stream)
    },
  }
}

/** COPY … FROM STDIN on a pg client of our own. */
export function pgClientSession(client: pg.Client): LoadSession {
  return copySession(
    async (text, parameters) => (await client.query(text, parameters as unknown[])).rows,
    async (stream) => {
      client.query(stream)
    },
  )
}

/**
 * COPY … FROM STDIN through a Kysely connection on node-postgres. Kysely exposes no raw client, but
 * its PostgresDialect hands a compiled query's `sql` straight to pg's `client.query`, which accepts
 * any "submittable" (pg-copy-streams, pg-cursor) in place of a string: the copy stream is that.
 * The connection must be reserved (db.connection()) so that nothing else runs on it meanwhile.
 */
export function kyselyPgSession(conn: Pick<Kysely<DB>, 'executeQuery'>): LoadSession {
  return copySession(
    async (text, parameters) =>
      (await conn.executeQuery<never>(CompiledQuery.raw(text, [...(parameters ?? [])]))).rows,
    async (stream) => {
      const compiled = CompiledQuery.raw('')
      await conn.executeQuery({ ...compiled, sql: stream as unknown as string })
      if (!(stream as unknown as { connection?: unknown }).connection) {
        throw new Error(
          'this Kysely dialect did not start COPY (it is not node-postgres): pass a postgres:// URL instead',
        )
      }
    },
  )
}
