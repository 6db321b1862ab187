// Profiles (b) and (d) of the aggregation benchmark on a database it kept (--keep):
//   node bench/profile-aggregation.mjs --database pm_test_bench_1000000_xxxxxxxx [--min-ms 500]
// Turns on auto_explain (ANALYZE, BUFFERS, nested statements) for that one database, reruns the
// full recompute from empty tables and a 1,000-email incremental drain, and turns it off again.
// The plans of every statement slower than --min-ms land in the PostgreSQL server log
// (/var/log/postgresql/postgresql-15-main.log here), each line prefixed with the database name.
import { parseArgs } from 'node:util'
import { drainDirtyKeys, recomputeAll } from '@penguinmails/aggregator'
import { createDatabase, ROLES } from '@penguinmails/schema'
import { TEST_SERVER_URL } from '@penguinmails/schema/testing'
import { sql } from 'kysely'

const { values } = parseArgs({
  options: { database: { type: 'string' }, 'min-ms': { type: 'string', default: '500' } },
})
if (!values.database?.startsWith('pm_test_bench_'))
  throw new Error('--database must name a database the benchmark kept (pm_test_bench_…)')
const urlAs = (user) => {
  const url = new URL(TEST_SERVER_URL)
  url.pathname = `/${values.database}`
  if (user) url.username = user
  return url.toString()
}
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a)
const name = sql.id(values.database)
const server = createDatabase({ databaseUrl: TEST_SERVER_URL })
const settings = {
  session_preload_libraries: 'auto_explain',
  'auto_explain.log_min_duration': `${Number(values['min-ms'])}ms`,
  'auto_explain.log_analyze': 'on',
  'auto_explain.log_buffers': 'on',
  'auto_explain.log_nested_statements': 'on',
}
for (const [k, v] of Object.entries(settings))
  await sql`alter database ${name} set ${sql.raw(k)} = ${sql.lit(v)}`.execute(server.db)
try {
  const su = createDatabase({ databaseUrl: urlAs() })
  const writer = createDatabase({ databaseUrl: urlAs(ROLES.writer) })
  await sql`truncate campaign_analytics, sequence_step_analytics, mailbox_analytics, warmup_analytics,
                     lead_analytics, billing_analytics`.execute(su.db)
  let t = performance.now()
  const b = await recomputeAll(writer.db, { tenantsPerBatch: 10_000 })
  log(`(b) ${(performance.now() - t).toFixed(0)} ms`, JSON.stringify(b.counts))
  await sql`update emails set opened_at = coalesce(opened_at, sent_at) + interval '1 second', updated_at = now()
             where id in (select id from emails where sent_at is not null order by md5(id::text) limit 1000)`.execute(
    writer.db,
  )
  t = performance.now()
  let keys = 0
  for (;;) {
    const r = await drainDirtyKeys(writer.db, { batchSize: 50_000 })
    if (r.state === 'idle') break
    if (r.state === 'drained') {
      keys += r.keys
      log(`  drained ${r.keys} keys of ${r.tenantIds.length} tenants`, JSON.stringify(r.counts))
    }
  }
  log(`(d) ${(performance.now() - t).toFixed(0)} ms for ${keys} keys`)
  await su.destroy()
  await writer.destroy()
} finally {
  for (const k of Object.keys(settings))
    await sql`alter database ${name} reset ${sql.raw(k)}`.execute(server.db)
  await server.destroy()
}
