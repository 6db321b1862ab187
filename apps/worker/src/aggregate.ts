#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { recomputeAll, type TableCounts } from '@penguinmails/aggregator'
import { AGGREGATE_USAGE, parseAggregateArgs, UsageError } from './aggregate-args.js'
import { createLogger, createWorkerDatabase } from './context.js'
import { EnvError, readDatabaseConfig } from './env.js'
import { checkDatabase, prepareEmbeddedDatabase, StartupRefusal } from './preflight.js'

// `pnpm aggregate`: a one-shot recompute of the analytics tables, without Redis — for backfills,
// after a restore, and for the embedded mode. Exit codes: 0 done, 1 failed, 2 bad arguments.

const out = (line: string) => process.stdout.write(`${line}\n`)
const fail = (line: string) => process.stderr.write(`aggregate: ${line}\n`)
const n = (x: number) => x.toLocaleString('en-US')

export async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseAggregateArgs>
  let config: ReturnType<typeof readDatabaseConfig>
  try {
    args = parseAggregateArgs(argv)
    config = readDatabaseConfig()
  } catch (error) {
    if (error instanceof UsageError) {
      fail(`${error.message}\n\n${AGGREGATE_USAGE}`)
      return 2
    }
    if (error instanceof EnvError) {
      fail(error.message)
      return 2
    }
    throw error
  }
  if (args.help) {
    out(AGGREGATE_USAGE)
    return 0
  }
  const database = createWorkerDatabase(config, createLogger('warn'), 'penguinmails-aggregate')
  try {
    await prepareEmbeddedDatabase(database)
    await checkDatabase(database)
    const known = new Set(
      (await database.db.selectFrom('tenants').select('id').execute()).map((t) => t.id),
    )
    const unknown = (args.tenantIds ?? []).filter((t) => !known.has(t))
    if (unknown.length > 0) {
      fail(`no such tenant: ${unknown.join(', ')} (the database has ${n(known.size)} tenants)`)
      return 1
    }
    const range =
      args.fromDay || args.toDay
        ? `days [${args.fromDay ?? '…'}, ${args.toDay ?? '…'})`
        : 'all days'
    const who = args.tenantIds
      ? `${n(args.tenantIds.length)} tenant(s)`
      : `all ${n(known.size)} tenants`
    out(`aggregate: recomputing ${who}, ${range}, in ${database.kind} ${database.location}`)
    const started = performance.now()
    let written = 0
    let deleted = 0
    const result = await recomputeAll(database.db, {
      ...(args.tenantIds ? { tenantIds: args.tenantIds } : {}),
      ...(args.fromDay ? { fromDay: args.fromDay } : {}),
      ...(args.toDay ? { toDay: args.toDay } : {}),
      ...(args.workMem ? { workMem: args.workMem } : {}),
      tenantsPerBatch: 20,
      onProgress: (p) => {
        written += p.counts.reduce((s, c) => s + c.upserted, 0)
        deleted += p.counts.reduce((s, c) => s + c.deleted, 0)
        const pct = p.tenantsTotal === 0 ? 100 : Math.round((100 * p.tenantsDone) / p.tenantsTotal)
        out(
          `aggregate: ${n(p.tenantsDone)}/${n(p.tenantsTotal)} tenants (${pct} %), ${n(written)} rows written, ${n(deleted)} deleted, ${((performance.now() - started) / 1000).toFixed(1)} s`,
        )
      },
    })
    for (const line of table(result.counts)) out(line)
    out(
      `aggregate: done — ${n(result.tenants)} tenants in ${(result.durationMs / 1000).toFixed(1)} s`,
    )
    return 0
  } catch (error) {
    if (error instanceof StartupRefusal) fail(error.message)
    else
      fail(
        `failed on ${database.kind} ${database.location}: ${error instanceof Error ? error.message : String(error)}`,
      )
    return 1
  } finally {
    await database.destroy()
  }
}

function table(counts: TableCounts[]): string[] {
  if (counts.length === 0) return []
  const width = Math.max(...counts.map((c) => c.table.length), 5)
  return [
    `  ${'table'.padEnd(width)}  ${'written'.padStart(10)}  ${'deleted'.padStart(10)}`,
    ...counts.map(
      (c) =>
        `  ${c.table.padEnd(width)}  ${n(c.upserted).padStart(10)}  ${n(c.deleted).padStart(10)}`,
    ),
  ]
}

/** Runs `aggregate` as a command: the exit code is main's (bin/penguinmails-aggregate.js). */
export function runCommand(argv: string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      fail(error instanceof Error ? (error.stack ?? error.message) : String(error))
      process.exitCode = 1
    },
  )
}

// run, not imported
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runCommand(process.argv.slice(2))
}
