import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp, createContext, readEnv as readApiEnv, shutdown } from '@penguinmails/api'
import { createDatabase, type Database } from '@penguinmails/schema'
import { aggregateAll } from './aggregate.js'
import { loadDashboardAssets } from './dashboard-assets.js'
import { setUpDatabase } from './database-setup.js'
import { ensureDemoData } from './demo-data.js'
import { type DemoTenants, demoTenants } from './demo-tenants.js'
import { type DemoTokens, signDemoTokens } from './demo-tokens.js'
import type { DemoEnv } from './env.js'
import { type Freshness, startFreshness } from './freshness.js'
import { resolveJwtSecret } from './jwt-secret.js'
import { type LiveActivity, startLiveActivity } from './live-activity.js'
import type { Terminal } from './terminal.js'
import { createWebApp } from './web-app.js'

/** How long requests in flight get to finish when the demo stops. */
const SHUTDOWN_TIMEOUT_MS = 5_000
/** How often the terminal hears what the live stream and the aggregation did. */
const LIVE_REPORT_MS = 60_000

export interface RunningDemo {
  /** http://host:port/ of the dashboard; the API is under the same origin */
  url: string
  port: number
  tokens: DemoTokens
  tenants: DemoTenants
  database: Database
  /** milliseconds from the call to serving */
  startupMs: number
  /** stops the stream, the aggregation and the server, then closes the database */
  stop(): Promise<void>
}

function printReady(terminal: Terminal, demo: Omit<RunningDemo, 'stop' | 'database'>, how: string) {
  const { url, tokens, tenants } = demo
  const hints = encodeURIComponent(tenants.ids.join(','))
  const day = (offset: number) =>
    new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
  terminal.line('')
  terminal.line(`PenguinMails Analytics demo ready in ${(demo.startupMs / 1000).toFixed(1)} s`)
  terminal.line(`  dashboard     ${url}`)
  terminal.line(`  as a member   ${url}#token=${tokens.member}`)
  terminal.line(`  as an admin   ${url}#token=${tokens.admin}&tenants=${hints}`)
  terminal.line(`  API reference ${url}docs  (OpenAPI at ${url}openapi.json)`)
  terminal.line(
    `  tokens (HS256, tenant ${tokens.tenantId}, valid until ${tokens.expiresAt.toISOString().slice(0, 10)}):`,
  )
  terminal.line(`  member token  ${tokens.member}`)
  terminal.line(`  admin token   ${tokens.admin}`)
  terminal.line(
    `  try           curl -H "Authorization: Bearer <member token>" '${url}v1/campaigns/performance?from=${day(-29)}&to=${day(1)}'`,
  )
  terminal.line(`  tenants       ${tenants.total}: ${tenants.ids.slice(0, 8).join(', ')}`)
  terminal.line(`  freshness     ${how}`)
  terminal.line('Ctrl-C stops.')
}

async function listen(app: { fetch: (r: Request) => Response | Promise<Response> }, env: DemoEnv) {
  const server = serve({ fetch: app.fetch, port: env.port, hostname: env.host }) as Server
  try {
    await once(server, 'listening')
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'EADDRINUSE')
      throw new Error(
        `port ${env.port} on ${env.host} is in use: stop what holds it, or start with PORT=<another port> (PORT=0 picks a free one)`,
      )
    throw error
  }
  return server
}

/**
 * The demo, start to serving: migrate, generate demo data into an empty database, aggregate,
 * serve the API and the dashboard, and keep analytics fresh under a stream of new activity.
 */
export async function startDemo(
  env: DemoEnv,
  terminal: Terminal,
  /** aborting stops the start after the step in progress (startDemo then rejects) */
  signal?: AbortSignal,
): Promise<RunningDemo> {
  const started = performance.now()
  const database = createDatabase({
    databaseUrl: env.databaseUrl,
    dataDir: env.dataDir,
    applicationName: 'penguinmails-demo',
    onIdleConnectionError: (error) =>
      terminal.line(`database: an idle connection was lost (${error.message}); replaced`),
  })
  const background: { stop(): Promise<void> }[] = []
  let server: Server | undefined
  try {
    terminal.line(
      `database: ${database.kind === 'pglite' ? 'embedded PGlite in' : 'PostgreSQL at'} ${database.location}`,
    )
    const setup = await setUpDatabase(database)
    terminal.line(
      setup.applied.length === 0
        ? 'schema: up to date'
        : `schema: applied ${setup.applied.length} migrations (${setup.applied.join(', ')})`,
    )
    signal?.throwIfAborted()
    await ensureDemoData(database, { emails: env.demoEmails, seed: env.demoSeed }, terminal)
    signal?.throwIfAborted()
    await aggregateAll(database.db, terminal)
    signal?.throwIfAborted()
    const tenants = await demoTenants(database.db)
    const secret = resolveJwtSecret(env.jwtSecret, env.dataDir)
    if (secret.created && secret.file) terminal.line(`tokens: new signing key in ${secret.file}`)
    const tokens = await signDemoTokens(secret.secret, tenants.featured)

    const apiEnv = readApiEnv({
      JWT_SECRET: secret.secret,
      LOG_LEVEL: 'warn',
      HOST: env.host,
      PORT: String(env.port),
    })
    const context = createContext(apiEnv, { database })
    const web = createWebApp(createApp(context), loadDashboardAssets())
    signal?.throwIfAborted()
    server = await listen(web, env)
    const { port } = server.address() as AddressInfo
    const host = env.host === '0.0.0.0' || env.host === '::' ? '127.0.0.1' : env.host
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`

    const onError = (what: string) => (error: unknown) =>
      terminal.line(`${what}: ${error instanceof Error ? error.message : String(error)}`)
    const freshness: Freshness = await startFreshness(database, env, onError('aggregation'))
    background.push(freshness)
    let live: LiveActivity | undefined
    if (env.streamIntervalMs > 0) {
      live = startLiveActivity(database, env, onError('live activity'))
      background.push(live)
    }
    const report = setInterval(() => {
      if (live) terminal.line(`live: ${live.describe()}; ${freshness.describe()}`)
    }, LIVE_REPORT_MS)
    report.unref()
    background.push({ stop: async () => clearInterval(report) })

    signal?.throwIfAborted()
    const demo = { url, port, tokens, tenants, startupMs: performance.now() - started }
    printReady(
      terminal,
      demo,
      `${freshness.how}${live ? `; a simulated stream adds email activity every ${env.streamIntervalMs / 1000} s` : '; no simulated stream (DEMO_STREAM_INTERVAL_MS=0)'}`,
    )
    const running = server
    let stopping: Promise<void> | undefined
    return {
      ...demo,
      database,
      stop() {
        // the stream and the aggregation first, so no write is cut off; then the server, which
        // lets requests in flight finish and closes the database
        stopping ??= (async () => {
          for (const task of background.reverse()) await task.stop()
          await shutdown(running, context, SHUTDOWN_TIMEOUT_MS)
        })()
        return stopping
      },
    }
  } catch (error) {
    for (const task of background.reverse()) await task.stop().catch(() => {})
    server?.close()
    await database.destroy()
    throw error
  }
}
