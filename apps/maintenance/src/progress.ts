/** Shows what a long command is doing, on one line of a terminal; silent when not on a terminal. */
export interface Progress {
  update(message: string, done?: number, total?: number): void
  /** clears the line */
  finish(): void
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, finish() {} }
  let shown = false
  const started = Date.now()
  return {
    update(message, done, total) {
      const count = total ? ` ${done ?? 0}/${total}` : ''
      const seconds = ((Date.now() - started) / 1000).toFixed(0)
      const line = `[${seconds}s]${count} ${message}`
      const width = (stream.columns ?? 100) - 1
      stream.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
      shown = true
    },
    finish() {
      if (shown) stream.write('\r\x1b[K')
      shown = false
    },
  }
}
