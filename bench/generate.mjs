// Data generator benchmark (issue #5): node bench/generate.mjs [--emails 1000000] [--role writer] [--keep]
// Needs the packages built (pnpm build) and PostgreSQL (PM_TEST_DATABASE_URL, a superuser URL).
// Loads a fresh, migrated database (change-tracking triggers included) through a postgres:// URL,
// as a superuser (COPY straight into the tables) or as pm_writer (COPY into a staging table, then
// one INSERT … SELECT, since row level security refuses COPY), and prints the time per table.
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { generateSourceData } from '@penguinmails/data-generator'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'

const { values } = parseArgs({
  options: {
    emails: { type: 'string', default: '1000000' },
    role: { type: 'string', default: 'superuser' },
    seed: { type: 'string', default: '42' },
    keep: { type: 'boolean', default: false },
  },
})
if (!['superuser', 'writer'].includes(values.role)) throw new Error('--role is superuser or writer')
const emails = Number(values.emails)
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a)

const loadBefore = os.loadavg()[0]
const database = await createTestDatabase({ label: `bench_gen_${emails}` })
try {
  const url = values.role === 'writer' ? database.url(ROLES.writer) : database.url()
  const tables = {}
  const began = {}
  // CPU seconds of the generator's server backend (PostgreSQL runs here): a figure that other work
  // on the machine does not inflate, unlike the wall-clock time
  const watcher = database.connect().db
  let backendCpu = 0
  let polling = true
  const poll = (async () => {
    while (polling) {
      const { rows } = await sql`select pid from pg_stat_activity
        where datname = current_database() and application_name = 'penguinmails-data-generator'`.execute(
        watcher,
      )
      for (const { pid } of rows) {
        try {
          const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
          backendCpu = (Number(fields[11]) + Number(fields[12])) / 100
        } catch {
          // the backend just ended
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  let finished = started
  const report = await generateSourceData(url, {
    seed: Number(values.seed),
    emails,
    days: 90,
    end: '2025-06-30',
    onProgress: (p) => {
      began[p.table] ??= finished
      if (p.rows % 200_000 === 0 && p.rows < p.total) log(`  ${p.table} ${p.rows}/${p.total}`)
      // the last report of a table comes after its commit (indexes rebuilt, triggers run)
      if (p.rows === p.total) {
        finished = performance.now()
        tables[p.table] = { rows: p.total, seconds: (finished - began[p.table]) / 1000 }
      }
    },
  })
  const seconds = (performance.now() - started) / 1000
  const nodeCpu = Object.values(process.cpuUsage(cpuBefore)).reduce((a, b) => a + b, 0) / 1e6
  polling = false
  await poll
  const su = database.connect().db
  const { rows } = await sql`select count(*)::int as n from analytics_dirty_keys`.execute(su)
  for (const [table, t] of Object.entries(tables)) {
    log(
      `${table.padEnd(24)} ${String(t.rows).padStart(9)} rows ${t.seconds.toFixed(2).padStart(7)} s`,
    )
  }
  log(`CPU: ${backendCpu.toFixed(1)} s in the PostgreSQL backend, ${nodeCpu.toFixed(1)} s in Node`)
  log(
    `total ${seconds.toFixed(1)} s (${Math.round(report.rows.emails / seconds)} emails/s overall), ${rows[0].n} dirty keys written by the triggers, load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}`,
  )
  console.log(
    JSON.stringify({
      emails,
      role: values.role,
      seconds,
      method: report.method,
      tables,
      dirtyKeys: rows[0].n,
      backendCpuSeconds: backendCpu,
      nodeCpuSeconds: nodeCpu,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model}`,
      // other work on the machine slows every figure: the 1-minute load average before and after
      load: [loadBefore, os.loadavg()[0]].map((l) => Number(l.toFixed(2))),
    }),
  )
} finally {
  if (!values.keep) await database.drop()
  else log(`kept database ${database.name}`)
}
