import { createDatabase, type Database, type DB, redactUrl } from '@penguinmails/schema'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'

// The values @penguinmails/schema's factory gives (and its generated types expect): bigint,
// numeric and date as strings, with no precision lost and no time zone shift.
const asString = (value: string) => value
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1082 || oid === 1700) return asString
    return pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

/**
 * The database the runner works on: PGlite through the schema's factory when there is no URL;
 * for PostgreSQL a pool like the factory's, plus an error listener on every client. Without it a
 * connection the server terminates while it is checked out (pg_terminate_backend, a restart: the
 * archive and erasure tests do it on purpose) emits an 'error' nobody listens to, which ends the
 * process before the run can fail cleanly and record its failure.
 */
export function openDatabase(options: {
  databaseUrl: string | undefined
  dataDir: string | undefined
  applicationName: string
  maxConnections: number
  onConnectionError: (error: Error) => void
}): Database {
  if (!options.databaseUrl) {
    return createDatabase({ dataDir: options.dataDir, applicationName: options.applicationName })
  }
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.maxConnections,
    application_name: options.applicationName,
    types: TYPES,
  })
  pool.on('error', options.onConnectionError)
  pool.on('connect', (client) => client.on('error', options.onConnectionError))
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  return {
    kind: 'postgres',
    db,
    location: redactUrl(options.databaseUrl),
    destroy: () => db.destroy(),
  }
}
