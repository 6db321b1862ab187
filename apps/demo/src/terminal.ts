/** What the demo prints: plain lines, and progress that rewrites one line on a terminal. */
export interface Terminal {
  line(text: string): void
  /** the progress of a step: done of total units; repeated calls update it */
  progress(step: string, done: number, total: number, unit: string): void
  /** ends the current progress with a final line */
  finish(step: string, text: string): void
}

const BAR_WIDTH = 24
// on a pipe or a log file, a progress line at most this often
const PLAIN_INTERVAL_MS = 2_000

function bar(done: number, total: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1
  const full = Math.round(share * BAR_WIDTH)
  return `[${'#'.repeat(full)}${'.'.repeat(BAR_WIDTH - full)}] ${String(Math.floor(share * 100)).padStart(3)}%`
}

export function createTerminal(
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Terminal {
  const tty = Boolean(out.isTTY)
  let open = false
  let lastPlain = 0
  let lastText = ''
  const clear = () => {
    if (open) out.write('\r\x1b[2K')
    open = false
  }
  return {
    line(text) {
      clear()
      out.write(`${text}\n`)
    },
    progress(step, done, total, unit) {
      const text = `${step} ${bar(done, total)} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}`
      if (tty) {
        out.write(`\r\x1b[2K${text}`)
        open = true
        return
      }
      const now = Date.now()
      if (text === lastText || (now - lastPlain < PLAIN_INTERVAL_MS && done < total)) return
      lastPlain = now
      lastText = text
      out.write(`${text}\n`)
    },
    finish(step, text) {
      clear()
      lastText = ''
      out.write(`${step} ${text}\n`)
    },
  }
}
