import type { ColumnType, Row } from './source-tables.js'

/**
 * One database connection the generator writes through, held for the whole run. `load` appends
 * rows to a table inside the transaction the caller opened; how depends on the database.
 */
export interface LoadSession {
  /** 'copy' sessions use COPY, which PostgreSQL refuses on tables under row level security */
  readonly method: 'copy' | 'insert'
  query<T>(text: string, parameters?: readonly unknown[]): Promise<T[]>
  load(
    table: string,
    columns: readonly (readonly [string, ColumnType])[],
    rows: Iterable<Row>,
  ): Promise<void>
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`

export const columnList = (columns: readonly (readonly [string, ColumnType])[]) =>
  columns.map(([name]) => quoteIdent(name)).join(', ')
