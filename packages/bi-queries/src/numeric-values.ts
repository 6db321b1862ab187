// PostgreSQL bigint and numeric arrive as strings (the schema's type parsers keep them exact);
// BI outputs are JSON numbers. Counts stay far below 2^53, and rates have two decimals.

export function toCount(value: string | number | bigint | null | undefined): number {
  if (value === null || value === undefined) return 0
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer count: ${String(value)}`)
  return n
}

export function toDecimal(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null
  const n = Number(value)
  if (!Number.isFinite(n)) throw new RangeError(`not a finite number: ${String(value)}`)
  return n
}
