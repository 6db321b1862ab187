#!/usr/bin/env node
import { bootstrapDatabase } from './bootstrap.js'
import { readCliEnv } from './cli-env.js'
import { createDatabase } from './create-database.js'
import { appliedMigrations, MIGRATIONS, type MigrationTarget, migrate } from './migrations.js'
import { describeSchema, formatSchemaReport } from './schema-report.js'

const USAGE = `usage: penguinmails-schema <command>
  migrate              create the roles if allowed, then apply every pending migration
  down [--to NAME]     undo migrations down to NAME (default: all of them)
  status               list applied and pending migrations
environment: DATABASE_URL (PostgreSQL; unset = embedded PGlite), PM_DATA_DIR (embedded data folder)`

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (!command || !['migrate', 'down', 'status'].includes(command)) {
    console.error(USAGE)
    process.exitCode = 2
    return
  }
  let target: MigrationTarget = 'zero'
  if (command === 'down' && rest.length > 0) {
    const to = rest[0] === '--to' ? rest[1] : undefined
    if (!to || !(MIGRATIONS as readonly string[]).includes(to)) {
      console.error(`down --to takes one of: ${MIGRATIONS.join(', ')}`)
      process.exitCode = 2
      return
    }
    target = to as MigrationTarget
  }

  const env = readCliEnv()
  const database = createDatabase({ ...env, applicationName: 'penguinmails-schema' })
  const where = `${database.kind === 'pglite' ? 'embedded PGlite database' : 'PostgreSQL database'} at ${database.location}`
  try {
    if (command === 'status') {
      const applied = await appliedMigrations(database.db)
      for (const name of MIGRATIONS)
        console.log(`${applied.includes(name) ? 'applied' : 'pending'}  ${name}`)
      return
    }
    if (command === 'migrate') {
      console.log(`migrating the ${where}`)
      const boot = await bootstrapDatabase(database.db)
      console.log(boot.ranAsSuperuser ? 'roles and schema grants: ensured' : 'roles: present')
      const report = await migrate(database.db, 'latest')
      console.log(
        report.applied.length === 0
          ? 'schema already up to date'
          : `applied ${report.applied.length} migration(s): ${report.applied.join(', ')}`,
      )
      console.log(formatSchemaReport(await describeSchema(database.db)))
      return
    }
    const report = await migrate(database.db, target)
    console.log(
      report.applied.length === 0
        ? 'nothing to undo'
        : `undid ${report.applied.length} migration(s) on the ${where}: ${report.applied.join(', ')}`,
    )
  } finally {
    await database.destroy()
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`penguinmails-schema: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
