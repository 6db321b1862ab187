import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'

/** One connection, PostgreSQL or PGlite: the tests below speak plain SQL to either. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>
  /** Runs several statements (DDL) at once. */
  exec(sql: string): Promise<void>
  close(): Promise<void>
}

export async function pgConnection(url: string): Promise<Queryable & { client: pg.Client }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return {
    client,
    query: async <R>(sql: string, params?: unknown[]) =>
      (await client.query(sql, params)) as unknown as { rows: R[] },
    exec: async (sql) => void (await client.query(sql)),
    close: () => client.end(),
  }
}

export function pgliteConnection(pglite: PGlite): Queryable {
  return {
    query: async <R>(sql: string, params?: unknown[]) => pglite.query<R>(sql, params),
    exec: async (sql) => void (await pglite.exec(sql)),
    close: () => pglite.close(),
  }
}

export function errorCode(error: unknown): string {
  return (error as { code?: string }).code ?? 'none'
}
