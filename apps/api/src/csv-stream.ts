import type { Logger } from './logger.js'

const encoder = new TextEncoder()

// a cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed with ' ;
// numbers are written as they are, so negative values stay numbers
function cell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  let text = typeof value === 'string' ? value : JSON.stringify(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(cell).join(',')}\r\n`
}

/** Hands rows to the response as they come; resolves once the client has taken them. */
export type EmitRows = (rows: readonly Record<string, unknown>[]) => Promise<void>

/**
 * A text/csv response streamed while `produce` runs (in its database transaction). The response
 * starts with the first rows: an error before then is thrown to the caller, which answers it as
 * problem+json; an error after then can only abort the stream, and is logged.
 */
export async function csvResponse(
  columns: readonly string[],
  filename: string,
  logger: Logger,
  produce: (emit: EmitRows) => Promise<void>,
  /** more response headers, read once the first rows (or the end) are there */
  extraHeaders: () => Record<string, string> = () => ({}),
): Promise<Response> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const writer = writable.getWriter()
  let started = false
  let signalStart: () => void = () => {}
  const startedPromise = new Promise<'started'>((resolve) => {
    signalStart = () => resolve('started')
  })
  const start = () => {
    if (started) return
    started = true
    signalStart()
    // not awaited: the consumer only starts reading once the response is returned
    void writer.write(encoder.encode(csvLine(columns))).catch(() => {})
  }
  const emit: EmitRows = async (rows) => {
    start()
    if (rows.length === 0) return
    await writer.ready
    await writer.write(encoder.encode(rows.map((r) => csvLine(columns.map((c) => r[c]))).join('')))
  }
  const done = produce(emit).then(
    async () => {
      start()
      await writer.close()
      return 'done' as const
    },
    async (error: unknown) => {
      if (!started) throw error
      logger.error('CSV export failed after it started; the response was cut short', {
        error: error instanceof Error ? error.message : String(error),
      })
      await writer.abort(error).catch(() => {})
      return 'done' as const
    },
  )
  await Promise.race([startedPromise, done])
  done.catch(() => {})
  return new Response(readable, {
    status: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${filename}.csv"`,
      'cache-control': 'no-store',
      ...extraHeaders(),
    },
  })
}
