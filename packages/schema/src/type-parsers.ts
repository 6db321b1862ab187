// The same JavaScript values from PostgreSQL (pg) and PGlite, matching the generated types:
// bigint and numeric as strings (no precision lost), date as 'YYYY-MM-DD' (no time zone shift).
export const TYPE_OID = { int8: 20, date: 1082, numeric: 1700 } as const

export const asString = (value: string): string => value
