import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'

/** A deployed app started with `node dist/index.js`, its output collected. */
export class AppProcess {
  output = ''
  readonly exited: Promise<number | null>
  private readonly child: ChildProcess

  constructor(
    cwd: string,
    env: Record<string, string>,
    args: string[] = [],
    /** the script run, relative to cwd: the app's entry or one of its `bin/` commands */
    entry = 'dist/index.js',
  ) {
    this.child = spawn(process.execPath, [entry, ...args], {
      cwd,
      // only what the app is given: no NODE_PATH, no workspace around it
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.output += d))
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.output += d))
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null)
  }

  async waitFor(pattern: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms
    for (;;) {
      const match = this.output.match(pattern)
      if (match) return match
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ${pattern} in the output:\n${this.output}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null) this.child.kill(signal)
  }
}
