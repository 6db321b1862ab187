import type { PGlite, Results } from '@electric-sql/pglite'

interface PoolQueryResult {
  command: string
  rowCount: number
  rows: unknown[]
}

export interface PGlitePoolClient {
  query(sql: string, parameters?: readonly unknown[]): Promise<PoolQueryResult>
  release(): void
}

/**
 * A `pg.Pool`-shaped front for one PGlite instance, so that Kysely's own PostgresDialect drives it.
 * PGlite is one backend: a client is lent to one caller at a time, and a transaction holds it until
 * its COMMIT or ROLLBACK.
 */
export class PGlitePool {
  readonly #pglite: PGlite
  #queue: Promise<void> = Promise.resolve()
  #ended = false

  constructor(pglite: PGlite) {
    this.#pglite = pglite
  }

  get pglite(): PGlite {
    return this.#pglite
  }

  async connect(): Promise<PGlitePoolClient> {
    if (this.#ended) throw new Error('the embedded database has been closed')
    let release!: () => void
    const turn = this.#queue
    this.#queue = new Promise<void>((resolve) => {
      release = resolve
    })
    await turn
    const pglite = this.#pglite
    return {
      async query(sql, parameters = []) {
        // Without parameters use the simple protocol, which runs several statements (migrations).
        const result: Results =
          parameters.length === 0
            ? ((await pglite.exec(sql)).at(-1) ?? { rows: [], fields: [], affectedRows: 0 })
            : await pglite.query(sql, parameters as unknown[])
        return {
          command: result.command ?? firstKeyword(sql),
          rowCount: result.affectedRows ?? 0,
          rows: result.rows,
        }
      },
      release,
    }
  }

  async end(): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    await this.#queue
    await this.#pglite.close()
  }
}

function firstKeyword(sql: string): string {
  return /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? ''
}
