#!/usr/bin/env node
// pnpm maintenance <command> [options]: see USAGE (args.ts) and the README.
import { parseArgs, USAGE, UsageError } from './args.js'
import { createContext } from './context.js'
import { EnvError, readEnv } from './env.js'
import { EXIT, type RunOutcome, runCommand } from './run-command.js'

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs>
  try {
    args = parseArgs(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${error.message}\n\n${USAGE}\n`)
    return EXIT.usage
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`)
    return EXIT.ok
  }
  let env: ReturnType<typeof readEnv>
  try {
    env = readEnv()
  } catch (error) {
    if (!(error instanceof EnvError)) throw error
    process.stderr.write(`${error.message}\n`)
    return EXIT.usage
  }
  const ctx = createContext(env, { now: args.now })
  // a signal ends the process; the server rolls back the transaction in progress, and every step
  // of every command is one transaction, so the next run picks up where this one stopped
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(
        `\n${args.command} interrupted by ${signal}: its current step is rolled back; run it again to finish\n`,
      )
      process.exit(EXIT.failed)
    })
  }
  try {
    const outcome = await runCommand(ctx, args)
    print(outcome, args.json)
    return outcome.exitCode
  } finally {
    await ctx.close()
  }
}

function print(outcome: RunOutcome, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        command: outcome.command,
        exitCode: outcome.exitCode,
        message: outcome.message,
        ...(outcome.report
          ? { details: outcome.report.details, problems: outcome.report.problems }
          : {}),
      })}\n`,
    )
    return
  }
  for (const line of outcome.report?.lines ?? []) process.stdout.write(`${line}\n`)
  if (outcome.exitCode === EXIT.ok) process.stdout.write(`${outcome.message}\n`)
  else process.stderr.write(`${outcome.message}\n`)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(
      `maintenance failed: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exitCode = EXIT.failed
  },
)
