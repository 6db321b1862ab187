import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { DB } from './database-types.js'
import { PGlitePool } from './pglite-pool.js'
import { asString, TYPE_OID } from './type-parsers.js'

export interface DatabaseConfig {
  /** A PostgreSQL connection string. When absent, an embedded PGlite database is used. */
  databaseUrl?: string | undefined
  /** Where the embedded database keeps its files; `memory://` keeps it in memory. */
  dataDir?: string | undefined
  /** Pool size for PostgreSQL. */
  maxConnections?: number | undefined
  /** Sent as application_name, so that pg_stat_activity tells who is connected. */
  applicationName?: string | undefined
  /**
   * Called when an idle pooled connection dies (server restart, pg_terminate_backend). The pool
   * replaces it on the next checkout; without a handler such an error would end the process.
   */
  onIdleConnectionError?: ((error: Error) => void) | undefined
}

export type DatabaseKind = 'postgres' | 'pglite'

export interface Database {
  readonly kind: DatabaseKind
  readonly db: Kysely<DB>
  /** Where it lives: the URL without its password, or the embedded data folder. */
  readonly location: string
  /** The embedded instance, for PGlite-only work (dumps, extensions); absent on PostgreSQL. */
  readonly pglite?: PGlite
  /**
   * The pg pool under `db`, on PostgreSQL only: for a simple-protocol batch of several statements
   * whose last result is wanted (Kysely returns no rows for such a batch).
   */
  readonly pool?: pg.Pool
  destroy(): Promise<void>
}

export const DEFAULT_DATA_DIR = '.data/pglite'

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TYPE_OID.int8 || oid === TYPE_OID.date || oid === TYPE_OID.numeric) return asString
    return pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

export function createDatabase(config: DatabaseConfig = {}): Database {
  if (config.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.maxConnections ?? 10,
      application_name: config.applicationName ?? 'penguinmails',
      types: pgTypes,
    })
    pool.on('error', (error) => config.onIdleConnectionError?.(error))
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
    return {
      kind: 'postgres',
      db,
      pool,
      location: redactUrl(config.databaseUrl),
      destroy: () => db.destroy(),
    }
  }
  const dataDir = config.dataDir ?? DEFAULT_DATA_DIR
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  const pglite = new PGlite(dataDir, {
    parsers: {
      [TYPE_OID.int8]: asString,
      [TYPE_OID.date]: asString,
      [TYPE_OID.numeric]: asString,
    },
  })
  const pool = new PGlitePool(pglite)
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }),
  })
  return { kind: 'pglite', db, location: dataDir, pglite, destroy: () => db.destroy() }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable DATABASE_URL)'
  }
}
