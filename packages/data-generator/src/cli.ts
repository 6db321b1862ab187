#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { bootstrapDatabase, createDatabase, migrate } from '@penguinmails/schema'
import { sql } from 'kysely'
import { appendActivity } from './append-activity.js'
import { readGeneratorEnv } from './env.js'
import { generateSourceData } from './generate.js'
import type { GenerateOptions, GenerateProgress } from './options.js'

const USAGE = `usage: penguinmails-generate [options]
  --emails N      emails to generate (default 100000)
  --days N        days of activity, ending at --end (default 90)
  --seed N        same seed and options, same data (default 42)
  --tenants N     (default 5)   --campaigns N   --mailboxes N   --leads N   (default: scaled to --emails)
  --end DATE      YYYY-MM-DD (the end of that UTC day) or an ISO instant (default: now)
  --edge-cases    also write the edge-case tenants (see the package README)
  --append N      instead: add N new email events to the existing data (the live demo's stream)
environment: DATABASE_URL (PostgreSQL, written with COPY; unset: the embedded PGlite database,
             migrated first), PM_DATA_DIR (the embedded database's folder)`

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value.replace(/_/g, ''))
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} takes a whole number (got "${value}")`)
  return n
}

function progressPrinter(): (p: GenerateProgress) => void {
  let lastShare = -1
  return (p) => {
    const share = p.total === 0 ? 1 : Math.floor((p.rows / p.total) * 10)
    if (p.rows === p.total) {
      console.log(`  ${p.table.padEnd(24)} ${p.total.toLocaleString('en-US').padStart(12)} rows`)
      lastShare = -1
    } else if (p.total >= 50_000 && share !== lastShare) {
      lastShare = share
      console.log(`  ${p.table.padEnd(24)} ${`${share * 10}%`.padStart(12)}`)
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      emails: { type: 'string' },
      days: { type: 'string' },
      seed: { type: 'string' },
      tenants: { type: 'string' },
      campaigns: { type: 'string' },
      mailboxes: { type: 'string' },
      leads: { type: 'string' },
      end: { type: 'string' },
      'edge-cases': { type: 'boolean', default: false },
      append: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const env = readGeneratorEnv()
  const database = createDatabase({ ...env, applicationName: 'penguinmails-generate' })
  const where =
    database.kind === 'pglite'
      ? `the embedded PGlite database at ${database.location}`
      : `PostgreSQL at ${database.location}`
  try {
    if (database.kind === 'pglite') {
      await bootstrapDatabase(database.db)
      await migrate(database.db, 'latest')
    } else {
      const { rows } = await sql<{ ok: boolean }>`
        select to_regclass('emails') is not null as ok`.execute(database.db)
      if (!rows[0]?.ok) {
        throw new Error(`${where} has no source tables: run \`pnpm db:migrate\` first`)
      }
    }
    const appendCount = count('append', values.append)
    if (appendCount !== undefined) {
      const seed = count('seed', values.seed) ?? Date.now() % 1_000_000
      const report = await appendActivity(database.db, { seed, count: appendCount })
      console.log(
        `added ${report.inserted} emails (${report.leads} new leads) and ${report.updated} events to ${where}`,
      )
      return
    }
    const options: GenerateOptions = {
      seed: count('seed', values.seed),
      emails: count('emails', values.emails),
      days: count('days', values.days),
      tenants: count('tenants', values.tenants),
      campaigns: count('campaigns', values.campaigns),
      mailboxes: count('mailboxes', values.mailboxes),
      leads: count('leads', values.leads),
      end: values.end,
      edgeCases: values['edge-cases'],
      onProgress: progressPrinter(),
    }
    console.log(`generating into ${where}`)
    // PostgreSQL: our own connection from the URL, so that COPY streams straight into it
    const report = await generateSourceData(env.databaseUrl ?? database, options)
    console.log(
      `done in ${(report.milliseconds / 1000).toFixed(1)} s with ${report.method === 'copy' ? 'COPY' : 'INSERTs'}: seed ${report.seed}, ${report.days} days ending ${report.end.toISOString()}`,
    )
  } finally {
    await database.destroy()
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`penguinmails-generate: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
