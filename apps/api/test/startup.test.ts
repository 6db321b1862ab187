import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { createDatabase, ROLES } from '@penguinmails/schema'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import type { TestHooks } from '../src/context.js'
import { shutdown } from '../src/index.js'
import { type ApiHarness, JWT_SECRET, openApiHarness } from './support/api-harness.js'

const ENTRY = fileURLToPath(new URL('../dist/index.js', import.meta.url))

let h: ApiHarness

beforeAll(async () => {
  if (!existsSync(ENTRY))
    throw new Error(`${ENTRY} is missing: build the API first (npx tsc -p tsconfig.build.json)`)
  h = await openApiHarness({ label: 'api_startup', fixture: { campaignsPerTenant: 2, days: 10 } })
})

afterAll(async () => {
  await h?.close()
})

interface Run {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function start(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [ENTRY], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function waitFor(run: Run, pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms
  for (;;) {
    const match = run.output().match(pattern)
    if (match) return match
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${run.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('starting the API', () => {
  it('refuses a superuser with a non-zero exit naming the role and the fix (R4)', async () => {
    const run = start({ DATABASE_URL: h.database.url(), JWT_SECRET })
    expect(await run.exited).toBe(1)
    expect(run.output()).toMatch(/the database role \\?"postgres\\?" is a superuser/)
    expect(run.output()).toMatch(/Connect as pm_admin/)
  })

  it('refuses a role with BYPASSRLS', async () => {
    const role = `pm_test_bypass_${randomBytes(3).toString('hex')}`
    const superuser = h.database.connect().db
    await sql`create role ${sql.id(role)} login nosuperuser bypassrls in role ${sql.id(ROLES.admin)}`.execute(
      superuser,
    )
    try {
      const run = start({ DATABASE_URL: h.database.url(role as never), JWT_SECRET })
      expect(await run.exited).toBe(1)
      expect(run.output()).toMatch(new RegExp(`role \\\\?"${role}\\\\?" has BYPASSRLS`))
    } finally {
      await sql`drop role ${sql.id(role)}`.execute(superuser)
    }
  })

  it('names a missing secret and exits 2', async () => {
    const run = start({ DATABASE_URL: h.database.url(ROLES.admin) })
    expect(await run.exited).toBe(2)
    expect(run.output()).toMatch(/JWT_SECRET is required/)
  })

  it('serves as pm_admin and stops cleanly on SIGTERM', async () => {
    const run = start({ DATABASE_URL: h.database.url(ROLES.admin), JWT_SECRET })
    try {
      const [, port] = await waitFor(run, /"address":"127\.0\.0\.1:(\d+)"/)
      const health = await fetch(`http://127.0.0.1:${port}/readyz`)
      expect(await health.json()).toEqual({ status: 'ready' })
      const token = await h.token({ tenant_id: 'tenant-a', role: 'member' })
      const usage = await fetch(`http://127.0.0.1:${port}/v1/usage?from=2024-01-01&to=2024-05-01`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(usage.status).toBe(200)
      run.child.kill('SIGTERM')
      expect(await run.exited).toBe(0)
      expect(run.output()).toMatch(/"message":"stopped"/)
    } finally {
      run.child.kill('SIGKILL')
    }
  })

  it('refuses a catalog that fails the isolation lint', async () => {
    const superuser = h.database.connect().db
    await sql`create table leaky_copy (tenant_id text not null, secret text)`.execute(superuser)
    try {
      const run = start({ DATABASE_URL: h.database.url(ROLES.admin), JWT_SECRET })
      expect(await run.exited).toBe(1)
      expect(run.output()).toMatch(
        /leaky_copy has tenant_id but row level security is not enabled and forced/,
      )
    } finally {
      await sql`drop table leaky_copy`.execute(superuser)
    }
  })
})

describe('starting the API on a database not migrated to 0012', () => {
  it('refuses when pm_admin may not execute pm_tenant_freshness, naming the fix', async () => {
    const superuser = h.database.connect().db
    await sql`revoke execute on function pm_tenant_freshness(text[]) from pm_admin`.execute(
      superuser,
    )
    try {
      const run = start({ DATABASE_URL: h.database.url(ROLES.admin), JWT_SECRET })
      expect(await run.exited).toBe(1)
      expect(run.output()).toMatch(/pm_admin may not execute pm_tenant_freshness\(text\[\]\)/)
    } finally {
      await sql`grant execute on function pm_tenant_freshness(text[]) to pm_admin`.execute(
        superuser,
      )
    }
  })
})

describe('graceful shutdown', () => {
  it('finishes requests in flight, then refuses new connections and closes the pool', async () => {
    const hooks: TestHooks = {
      beforeRead: async (trx) => void (await sql`select pg_sleep(0.5)`.execute(trx)),
    }
    const database = createDatabase({ databaseUrl: h.database.url(ROLES.admin), maxConnections: 2 })
    const context = {
      ...h.context,
      database,
      hooks,
      accepting: true,
      close: () => database.destroy(),
    }
    const server = serve({ fetch: createApp(context).fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as AddressInfo
    const token = await h.token({ tenant_id: 'tenant-a', role: 'member' })
    const inFlight = fetch(`http://127.0.0.1:${port}/v1/usage?from=2024-01-01&to=2024-05-01`, {
      headers: { authorization: `Bearer ${token}` },
    })
    await new Promise((r) => setTimeout(r, 100))
    const stopping = shutdown(server as never, context, 5000)
    const response = await inFlight
    expect(response.status).toBe(200)
    expect(((await response.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0)
    expect(await stopping).toBe(true)
    expect(context.accepting).toBe(false)
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
  })
})
