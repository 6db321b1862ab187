// API benchmark (issue #3): node bench/api/api-latency.mjs [--emails 10000000] [--tenants 300]
//   [--campaigns N] [--seconds 30] [--connections 50] [--cache-bytes N] [--cold] [--keep]
//   [--database <kept database>]
// Generates the source data, aggregates it, starts the built API (apps/api/dist) as pm_admin and a
// Hono hello-world, each in its own process, and measures with autocannon, in the same run:
// the hello-world, the campaign performance endpoint over the last 30 days of data, and the usage
// endpoint, each request with the token of a random tenant and, for campaign performance, one of
// its three rankings. Needs `pnpm build` and PostgreSQL
// (PM_TEST_DATABASE_URL, a superuser URL). Prints JSON lines and a Markdown table for BENCHMARKS.md.
import { spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { createRequire } from 'node:module'
import os from 'node:os'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { recomputeAll } from '@penguinmails/aggregator'
import { generateSourceData } from '@penguinmails/data-generator'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { keptDatabase } from '../kept-database.mjs'

const { values } = parseArgs({
  options: {
    emails: { type: 'string', default: '10000000' },
    tenants: { type: 'string', default: '300' },
    // the data generator's campaign count (default: scaled to --emails)
    campaigns: { type: 'string' },
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '50' },
    // the API's API_RESULT_CACHE_BYTES (default: the API's own); 0 measures without the cache
    'cache-bytes': { type: 'string' },
    // measure from a cold result cache: skip the warm-up that requests every (tenant, path) once
    cold: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    // reuse a database kept by an earlier run (--keep) or by bench/dev tooling: generated with
    // seed 42, these --tenants and --campaigns, and aggregated; migrated first, never dropped
    database: { type: 'string' },
  },
})
const apiRequire = createRequire(new URL('../../apps/api/package.json', import.meta.url))
const load = (name) => import(pathToFileURL(apiRequire.resolve(name)).href)
const autocannon = (await load('autocannon')).default
const { sign } = await load('hono/jwt')
const API_ENTRY = new URL('../../apps/api/dist/index.js', import.meta.url).pathname
const HELLO = new URL('./hello-world.mjs', import.meta.url).pathname
const SECRET = 'bench-secret-bench-secret-bench-secret!'
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a)

/** Starts a node process and resolves with its port, read from its output. */
function startProcess(args, env, portPattern) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      output += d
      const match = output.match(portPattern)
      if (match) resolve({ child, port: Number(match[1]) })
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`${args[0]} exited ${code}:\n${output}`)))
  })
}

/** The API's result cache lookups so far (hits, misses), from its /metrics. */
async function cacheLookups(url) {
  if (!url) return { hit: 0, miss: 0, probes: 0, probed: 0 }
  const text = await (await fetch(`${url}/metrics`)).text()
  const sum = (result) =>
    [
      ...text.matchAll(
        new RegExp(`^api_result_cache_lookups_total\\{[^}]*result="${result}"\\} (\\d+)$`, 'gm'),
      ),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0)
  const counter = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
  return {
    hit: sum('hit'),
    miss: sum('miss'),
    probes: counter('api_freshness_probes_total'),
    probed: counter('api_freshness_probe_lookups_total'),
  }
}

/**
 * Requests every (tenant, path) once, 10 at a time, so that the measurement sees the steady state of
 * a read-mostly API (entries cached) rather than the first minute after a deploy; --cold skips it.
 */
async function warmUp(url, paths, tokens) {
  const jobs = tokens.flatMap((token) => paths.map((path) => ({ token, path })))
  const worker = async () => {
    for (let job = jobs.pop(); job; job = jobs.pop()) {
      const response = await fetch(`${url}${job.path}`, {
        headers: { authorization: `Bearer ${job.token}` },
      })
      await response.arrayBuffer()
    }
  }
  await Promise.all(Array.from({ length: 10 }, worker))
}

async function measure(name, url, paths, tokens) {
  if (tokens && !values.cold) {
    const started = Date.now()
    await warmUp(url, paths, tokens)
    log(
      `${name}: warm-up of ${tokens.length * paths.length} requests in ${Date.now() - started} ms`,
    )
  }
  const before = await cacheLookups(tokens ? url : null)
  const result = await run(url, paths, tokens)
  const after = await cacheLookups(tokens ? url : null)
  const hits = after.hit - before.hit
  const lookups = hits + after.miss - before.miss
  const measured = {
    name,
    ...result,
    cache_hit_share: tokens ? (lookups > 0 ? Number((hits / lookups).toFixed(4)) : 0) : null,
    // cache hits answered per live freshness probe (one probe serves every hit waiting for it)
    lookups_per_probe:
      tokens && after.probes > before.probes
        ? Number(((after.probed - before.probed) / (after.probes - before.probes)).toFixed(1))
        : null,
  }
  console.log(JSON.stringify(measured))
  return measured
}

function run(url, paths, tokens) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: Number(values.connections),
        duration: Number(values.seconds),
        requests: [
          {
            setupRequest: (req) => ({
              ...req,
              path: paths[randomInt(paths.length)],
              headers: tokens
                ? { authorization: `Bearer ${tokens[randomInt(tokens.length)]}` }
                : {},
            }),
          },
        ],
      },
      (error, r) => {
        if (error) return reject(error)
        resolve({
          rps: Math.round(r.requests.average),
          p50_ms: r.latency.p50,
          p99_ms: r.latency.p99,
          requests: r.requests.total,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
        })
      },
    )
  })
}

const kept = values.database ? await keptDatabase(values.database) : undefined
const database = kept?.database ?? (await createTestDatabase({ label: 'bench_api' }))
const processes = []
try {
  const su = database.connect().db
  const emails = Number(values.emails)
  if (kept) {
    log(`reusing ${values.database}, migrations applied: ${kept.migrated.join(', ') || 'none'}`)
    const { rows } = await sql`select count(*)::int as n from emails`.execute(su)
    if (rows[0].n !== emails)
      throw new Error(`${values.database} holds ${rows[0].n} emails, not --emails ${emails}`)
  } else {
    log(`generating ${emails} emails for ${values.tenants} tenants`)
    await generateSourceData(su, {
      seed: 42,
      emails,
      tenants: Number(values.tenants),
      ...(values.campaigns ? { campaigns: Number(values.campaigns) } : {}),
      end: '2024-06-30',
    })
    log('aggregating')
    await recomputeAll(database.connect(ROLES.writer).db, { tenantsPerBatch: 10_000 })
  }
  await sql`vacuum analyze`.execute(su)
  const facts = (
    await sql`select (select count(*)::int from tenants) as tenants,
                     (select count(*)::int from campaigns) as campaigns,
                     (select count(*)::int from campaign_analytics) as campaign_days,
                     (select max(day)::text from campaign_analytics) as last_day`.execute(su)
  ).rows[0]
  log(JSON.stringify(facts))
  const to = new Date(Date.parse(`${facts.last_day}T00:00:00Z`) + 86_400_000)
    .toISOString()
    .slice(0, 10)
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - 30 * 86_400_000).toISOString().slice(0, 10)
  const tenantIds = (await sql`select id from tenants order by id`.execute(su)).rows.map(
    (r) => r.id,
  )
  const exp = Math.floor(Date.now() / 1000) + 3600
  const tokens = await Promise.all(
    tenantIds.map((id) =>
      sign({ sub: `bench-${id}`, tenant_id: id, role: 'member', exp }, SECRET, 'HS256'),
    ),
  )

  const hello = await startProcess([HELLO], {}, /"port":(\d+)/)
  processes.push(hello.child)
  const api = await startProcess(
    [API_ENTRY],
    {
      DATABASE_URL: database.url(ROLES.admin),
      JWT_SECRET: SECRET,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_POOL_SIZE: '10',
      ...(values['cache-bytes'] !== undefined
        ? { API_RESULT_CACHE_BYTES: values['cache-bytes'] }
        : {}),
    },
    /"address":"127\.0\.0\.1:(\d+)"/,
  )
  processes.push(api.child)

  const results = [
    await measure('hello-world', `http://127.0.0.1:${hello.port}`, ['/'], null),
    await measure(
      'campaign performance, 30 days',
      `http://127.0.0.1:${api.port}`,
      ['volume', 'open_rate', 'reply_rate'].map(
        (sort) => `/v1/campaigns/performance?from=${from}&to=${to}&limit=50&sort=${sort}`,
      ),
      tokens,
    ),
    await measure(
      'usage',
      `http://127.0.0.1:${api.port}`,
      [`/v1/usage?from=2024-01-01&to=2024-07-01`],
      tokens,
    ),
  ]
  const baseline = results[0].rps
  console.log(
    `\n${emails.toLocaleString('en')} emails, ${facts.tenants} tenants, ${facts.campaigns} campaigns; ${values.connections} connections, ${values.seconds} s each; ${os.cpus().length} × ${os.cpus()[0]?.model}\n`,
  )
  console.log(
    '| endpoint | req/s | p50 ms | p99 ms | non-2xx | vs hello-world | result cache hits | hits per probe |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results)
    console.log(
      `| ${r.name} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.non2xx} | ${((100 * r.rps) / baseline).toFixed(1)} % | ${r.cache_hit_share === null ? '' : `${(100 * r.cache_hit_share).toFixed(1)} %`} | ${r.lookups_per_probe ?? ''} |`,
    )
} finally {
  for (const child of processes) child.kill('SIGTERM')
  if (kept) await database.close()
  else if (!values.keep) await database.drop()
}
