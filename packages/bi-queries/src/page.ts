/** One page of a keyset-paginated list. */
export interface Page<Row> {
  rows: Row[]
  /** Pass it back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

export interface PageRequest {
  /** rows per page, 1 to MAX_PAGE_SIZE */
  limit?: number | undefined
  /** the `nextCursor` of the previous page of the same query */
  cursor?: string | undefined
}

export const DEFAULT_PAGE_SIZE = 50
/** Larger than an API page on purpose: exports page through lists in bigger steps. */
export const MAX_PAGE_SIZE = 1000
