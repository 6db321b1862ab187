import type { Page } from 'playwright-core'

/** A table's rows as shown: row id (data-id) → field (data-field) → cell text. */
export type ShownTable = Map<string, Record<string, string>>

export async function shownTable(page: Page, tableId: string): Promise<ShownTable> {
  const rows = await page.$$eval(`#${tableId} tbody tr[data-id]`, (trs) =>
    trs.map((tr) => {
      const cells: Record<string, string> = {}
      for (const td of tr.querySelectorAll('td[data-field]'))
        cells[(td as HTMLElement).dataset.field as string] = (td.textContent ?? '').trim()
      return [(tr as HTMLElement).dataset.id as string, cells] as const
    }),
  )
  return new Map(rows)
}

/** The number a cell shows: grouping commas, %, ▲ and ▼ removed; '—' is null. */
export function shownNumber(text: string): number | null {
  const plain = text.replace(/[,%▲▼\s]/g, '')
  if (plain === '—') return null
  const value = Number(plain)
  if (plain === '' || Number.isNaN(value)) throw new Error(`"${text}" is not a number`)
  return value
}

/**
 * Checks that every listed field of every API row is shown, equal, in the row with the same id;
 * and that the page shows no row the API did not return. Returns how many cells were compared.
 */
export function compareRows(
  shown: ShownTable,
  apiRows: Record<string, unknown>[],
  idField: string,
  fields: { numbers?: string[]; texts?: string[] },
): { cells: number; mismatches: string[] } {
  const mismatches: string[] = []
  let cells = 0
  const ids = new Set<string>()
  for (const row of apiRows) {
    const id = String(row[idField])
    ids.add(id)
    const cellsShown = shown.get(id)
    if (!cellsShown) {
      mismatches.push(`row ${id}: not shown`)
      continue
    }
    for (const field of fields.numbers ?? []) {
      cells++
      const text = cellsShown[field]
      if (text === undefined) {
        mismatches.push(`row ${id} ${field}: no cell`)
        continue
      }
      const value = shownNumber(text)
      if (value !== row[field])
        mismatches.push(`row ${id} ${field}: shown ${text}, API ${row[field]}`)
    }
    for (const field of fields.texts ?? []) {
      cells++
      if (cellsShown[field] !== String(row[field] ?? '—'))
        mismatches.push(`row ${id} ${field}: shown ${cellsShown[field]}, API ${row[field]}`)
    }
  }
  for (const id of shown.keys())
    if (!ids.has(id)) mismatches.push(`row ${id}: shown, not in the API`)
  return { cells, mismatches }
}
