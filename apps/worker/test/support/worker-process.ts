import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const WORKER_ENTRY = fileURLToPath(new URL('../../dist/index.js', import.meta.url))
export const AGGREGATE_ENTRY = fileURLToPath(new URL('../../dist/aggregate.js', import.meta.url))

export interface LogLine {
  level: string
  msg: string
  time: string
  [field: string]: unknown
}

/** Settings that make recovery fast enough for tests; each test adds its own. */
export const FAST_RECOVERY = {
  WORKER_LOCK_DURATION_MS: '2000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  WORKER_REPAIR_INTERVAL_MS: '2000',
  WORKER_HEALTH_PORT: '0',
  WORKER_HEALTH_HOST: '127.0.0.1',
}

/** The built worker (dist/index.js) as a child process, its JSON log lines collected. */
export class WorkerProcess {
  readonly logs: LogLine[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly child: ChildProcess
  private waiters: (() => void)[] = []

  constructor(env: Record<string, string>, entry = WORKER_ENTRY, args: string[] = []) {
    this.child = spawn(process.execPath, [entry, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let pending = ''
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (!line.trim()) continue
        try {
          this.logs.push(JSON.parse(line) as LogLine)
        } catch {
          this.logs.push({ level: 'raw', msg: line, time: new Date().toISOString() })
        }
      }
      for (const wake of this.waiters.splice(0)) wake()
    })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    this.exited = once(this.child, 'exit').then(([code, signal]) => {
      for (const wake of this.waiters.splice(0)) wake()
      return { code: code as number | null, signal: signal as NodeJS.Signals | null }
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Waits for a log line matching `match` at or after index `from`; returns it. */
  async waitForLog(
    match: (line: LogLine) => boolean,
    timeoutMs: number,
    from = 0,
  ): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.logs.slice(from).find(match)
      if (found) return found
      if (!this.running)
        throw new Error(`worker exited before the expected log line:\n${this.tail()}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for a worker log line:\n${this.tail()}`)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, Math.min(left, 200))
      })
    }
  }

  /**
   * Resolves once the worker has started (its health port is then known). Generous: on the shared
   * test machine a node process can take half a minute to load.
   */
  async started(timeoutMs = 60_000): Promise<LogLine> {
    return this.waitForLog((l) => l.msg === 'worker started', timeoutMs)
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal)
  }

  /** The last lines, for failure messages. */
  tail(lines = 15): string {
    return [
      ...this.logs.slice(-lines).map((l) => JSON.stringify(l)),
      this.stderr.trim() ? `stderr: ${this.stderr.trim()}` : '',
    ].join('\n')
  }
}
