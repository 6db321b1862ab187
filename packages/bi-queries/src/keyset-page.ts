import { type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely'
import { decodeCursor, encodeCursor, type SortColumnType } from './keyset-cursor.js'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type Page, type PageRequest } from './page.js'
import { InvalidQueryError } from './query-errors.js'

/** One column of a keyset order; it must never be NULL and the last one must be unique. */
export interface SortColumn {
  column: string
  direction: 'asc' | 'desc'
  type: SortColumnType
}

export function checkLimit(limit: number | undefined): number {
  const value = limit ?? DEFAULT_PAGE_SIZE
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE)
    throw new InvalidQueryError('limit', `must be an integer from 1 to ${MAX_PAGE_SIZE}`)
  return value
}

// (a, b, c) after (x, y, z) in a mixed-direction order:
// a ≻ x OR (a = x AND (b ≻ y OR (b = y AND c ≻ z)))
function after(sort: readonly SortColumn[], values: readonly string[], i = 0): RawBuilder<boolean> {
  const col = sort[i] as SortColumn
  const ref = sql.ref(`k.${col.column}`)
  const value = sql`cast(${values[i]} as ${sql.raw(col.type)})`
  const op = sql.raw(col.direction === 'asc' ? '>' : '<')
  if (i === sort.length - 1) return sql<boolean>`${ref} ${op} ${value}`
  return sql<boolean>`(${ref} ${op} ${value} or (${ref} = ${value} and ${after(sort, values, i + 1)}))`
}

/**
 * Runs `inner` as one keyset page: ordered by `sort`, starting after the cursor's row, `limit`
 * rows. The cursor carries the last row's sort values as text, cast back to their SQL type, so no
 * value loses precision on the way (timestamps are sorted by an exact integer column instead).
 */
export async function keysetPage<DB, Row extends Record<string, unknown>>(
  db: Kysely<DB>,
  // biome-ignore lint/suspicious/noExplicitAny: any inner select; only its output row type matters
  inner: SelectQueryBuilder<DB, any, Row>,
  sort: readonly SortColumn[],
  fingerprint: string,
  request: PageRequest,
): Promise<Page<Row>> {
  const limit = checkLimit(request.limit)
  const types = sort.map((s) => s.type)
  // biome-ignore lint/suspicious/noExplicitAny: the outer query only filters, orders and limits `k`
  let query = (db as Kysely<any>).selectFrom(inner.as('k')).selectAll()
  if (request.cursor !== undefined)
    query = query.where(after(sort, decodeCursor(request.cursor, fingerprint, types)))
  for (const s of sort) query = query.orderBy(sql.ref(`k.${s.column}`), s.direction)
  const rows = (await query.limit(limit + 1).execute()) as Row[]
  const last = rows.length > limit ? rows[limit - 1] : undefined
  return {
    rows: rows.slice(0, limit),
    nextCursor:
      last === undefined
        ? null
        : encodeCursor(
            fingerprint,
            sort.map((s) => String(last[s.column])),
          ),
  }
}
