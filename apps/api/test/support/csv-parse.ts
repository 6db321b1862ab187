/** Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(cell)
      cell = ''
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += ch
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end with CRLF')
  return rows
}

/** A JSON row as the CSV export writes its cells. */
export function asCsvCells(row: Record<string, unknown>, columns: string[]): string[] {
  return columns.map((c) => {
    const v = row[c]
    if (v === null || v === undefined) return ''
    if (typeof v === 'string') return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
    return typeof v === 'object' ? JSON.stringify(v) : String(v)
  })
}
