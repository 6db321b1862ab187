import { type QueryExecutorProvider, sql } from 'kysely'

/** Rows of a raw SQL text (the checks read best as SQL). */
export async function rows<T = Record<string, unknown>>(
  db: QueryExecutorProvider,
  text: string,
): Promise<T[]> {
  return (await sql.raw<T>(text).execute(db)).rows
}

/** The single number a query returns in its column n. */
export async function count(db: QueryExecutorProvider, text: string): Promise<number> {
  const [row] = await rows<{ n: number | string }>(db, text)
  return Number(row?.n)
}
