import { createHash } from 'node:crypto'
import { parseDay } from './date-range.js'
import { InvalidCursorError } from './query-errors.js'

/** The SQL type of a sort column, which is what a cursor value is cast back to. */
export type SortColumnType = 'text' | 'integer' | 'bigint' | 'numeric' | 'date'

const VALUE_PATTERN: Record<SortColumnType, RegExp> = {
  text: /^[\s\S]{0,1000}$/,
  integer: /^-?\d{1,10}$/,
  bigint: /^-?\d{1,19}$/,
  numeric: /^-?\d{1,30}(\.\d{1,30})?$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
}

/**
 * A fingerprint of everything that defines a list (query, tenant, filters, sort): a cursor only
 * continues the list it came from, so a cursor reused with other filters is refused, not misread.
 */
export function listFingerprint(identity: unknown): string {
  return createHash('sha256').update(JSON.stringify(identity)).digest('base64url').slice(0, 16)
}

export function encodeCursor(fingerprint: string, values: string[]): string {
  return Buffer.from(JSON.stringify({ f: fingerprint, k: values })).toString('base64url')
}

/** Decodes a cursor and checks it against the list and the sort columns' types. */
export function decodeCursor(
  cursor: string,
  fingerprint: string,
  types: readonly SortColumnType[],
): string[] {
  let parsed: unknown
  try {
    if (!/^[A-Za-z0-9_-]{1,4000}$/.test(cursor)) throw new Error('not base64url')
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidCursorError('not a cursor issued by this API; pass nextCursor back unchanged')
  }
  const { f, k } = (parsed ?? {}) as { f?: unknown; k?: unknown }
  if (f !== fingerprint)
    throw new InvalidCursorError(
      'this cursor belongs to another list (different filters, sort or range); start without a cursor',
    )
  if (
    !Array.isArray(k) ||
    k.length !== types.length ||
    !k.every((value, i) => {
      const type = types[i] as SortColumnType
      return (
        typeof value === 'string' &&
        VALUE_PATTERN[type].test(value) &&
        (type !== 'date' || parseDay(value) !== null)
      )
    })
  )
    throw new InvalidCursorError('malformed cursor; pass nextCursor back unchanged')
  return k as string[]
}
