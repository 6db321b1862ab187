#!/usr/bin/env node
import { startDemo } from './demo.js'
import { DemoEnvError, readDemoEnv } from './env.js'
import { createTerminal } from './terminal.js'

/** env → demo → signals: Ctrl-C (or SIGTERM) stops cleanly; a second Ctrl-C does not wait. */
async function main(): Promise<number> {
  let env: ReturnType<typeof readDemoEnv>
  try {
    env = readDemoEnv()
  } catch (error) {
    if (!(error instanceof DemoEnvError)) throw error
    process.stderr.write(`penguinmails-demo: ${error.message}\n`)
    return 2
  }
  const terminal = createTerminal()
  const signals = ['SIGINT', 'SIGTERM'] as const
  // a signal during the start stops it right after the step in progress
  let early: NodeJS.Signals | undefined
  const starting = new AbortController()
  const onEarly = (signal: NodeJS.Signals) => {
    early = signal
    terminal.line(`\n${signal}: stopping after the step in progress`)
    starting.abort()
  }
  for (const s of signals) process.once(s, onEarly)
  let demo: Awaited<ReturnType<typeof startDemo>>
  try {
    demo = await startDemo(env, terminal, starting.signal)
  } catch (error) {
    if (!starting.signal.aborted) throw error
    terminal.line('stopped before serving')
    return 0
  }
  for (const s of signals) process.off(s, onEarly)
  const signal =
    early ??
    (await new Promise<NodeJS.Signals>((resolve) => {
      for (const s of signals) process.once(s, () => resolve(s))
    }))
  terminal.line(`\n${signal}: stopping (again to force)`)
  for (const s of signals)
    process.once(s, () => {
      process.stderr.write('penguinmails-demo: forced to stop\n')
      process.exit(130)
    })
  await demo.stop()
  terminal.line('stopped')
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(
      `penguinmails-demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exitCode = 1
  },
)
