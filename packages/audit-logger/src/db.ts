import type { IsolationLevel, Kysely } from 'kysely'

/**
 * A database to write to or read from: a `Kysely` instance or a `Transaction` (any schema type).
 * Given a transaction, the functions of this package run inside it, so what they write commits or
 * rolls back with the caller's change.
 */
// biome-ignore lint/suspicious/noExplicitAny: the functions use raw SQL and accept any schema type
export type AuditDb = Kysely<any>

/** Runs `fn` in the caller's transaction, or in a new one. */
export async function inTransaction<T>(
  db: AuditDb,
  fn: (trx: AuditDb) => Promise<T>,
  options: { isolation?: IsolationLevel; readOnly?: boolean } = {},
): Promise<T> {
  if (db.isTransaction) return fn(db)
  let builder = db.transaction()
  if (options.isolation) builder = builder.setIsolationLevel(options.isolation)
  if (options.readOnly) builder = builder.setAccessMode('read only')
  return builder.execute(fn)
}

/** Text that must not be empty. */
export function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${what} must be a non-empty string`)
  }
  return value
}

export function optionalText(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string or null`)
  return value
}
