import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiHarness, JWT_SECRET, openApiHarness } from './support/api-harness.js'

// No replica runs here, so a second database stands in for one: it holds the analytics and is
// read-only (default_transaction_read_only, as on a hot standby), while the primary is empty and
// writable. Reads can only succeed on the replica, and audit entries only on the primary.

const ENTRY = fileURLToPath(new URL('../dist/index.js', import.meta.url))

let replica: ApiHarness
let primary: TestDatabase
let api: ChildProcess
let output = ''
let base: string
/** the fixture's own audit entries, on the replica */
let replicaAudit: unknown[]

async function auditRows(database: TestDatabase) {
  const { rows } = await sql<{
    action: string
    resource_type: string
    tenant_id: string | null
  }>`select action, resource_type, tenant_id from admin_audit_log order by seq`.execute(
    database.connect().db,
  )
  return rows
}

beforeAll(async () => {
  replica = await openApiHarness({
    label: 'api_replica',
    fixture: { campaignsPerTenant: 2, days: 10 },
  })
  primary = await createTestDatabase({ label: 'api_primary' })
  replicaAudit = await auditRows(replica.database)
  const superuser = replica.database.connect().db
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(superuser)
  await sql`alter database ${sql.id(rows[0]?.name ?? '')} set default_transaction_read_only = on`.execute(
    superuser,
  )
  api = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET,
      DATABASE_URL: primary.url(ROLES.admin),
      DATABASE_REPLICA_URL: replica.database.url(ROLES.admin),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  api.stdout?.on('data', (d) => (output += d))
  api.stderr?.on('data', (d) => (output += d))
  const deadline = Date.now() + 20_000
  for (;;) {
    const port = /"address":"127\.0\.0\.1:(\d+)"/.exec(output)?.[1]
    if (port) {
      base = `http://127.0.0.1:${port}`
      break
    }
    if (api.exitCode !== null || Date.now() > deadline)
      throw new Error(`the API did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }
})

afterAll(async () => {
  api?.kill('SIGKILL')
  await primary?.drop()
  await replica?.close()
})

const get = (path: string, token: string) =>
  fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })

describe('DATABASE_REPLICA_URL', () => {
  it('logs both databases at start', () => {
    expect(output).toMatch(/"replica":"postgres:\/\/pm_admin@[^"]*"/)
  })

  it('serves tenant reads from the replica', async () => {
    const token = await replica.token({ tenant_id: 'tenant-a', role: 'member' })
    const path = '/v1/campaigns/performance?from=2024-01-01&to=2025-01-01'
    const response = await get(path, token)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { data: unknown[] }
    expect(body.data.length).toBeGreaterThan(0)
    // the same rows as reading the replica's database directly
    expect(body).toEqual(await (await replica.get(path, token)).json())
  })

  it('writes an admin read audit entry to the primary, never to the replica', async () => {
    const token = await replica.token({ tenant_id: 'tenant-a', role: 'admin', sub: 'admin-7' })
    const response = await get(
      '/v1/admin/tenants/tenant-b/usage?from=2024-01-01&to=2024-05-01',
      token,
    )
    expect(response.status).toBe(200)
    expect(await auditRows(primary)).toEqual([
      { action: 'read', resource_type: 'tenant_usage', tenant_id: 'tenant-b' },
    ])
    expect(await auditRows(replica.database)).toEqual(replicaAudit)
  })

  it('audits a failed admin read on the primary too', async () => {
    const token = await replica.token({ tenant_id: 'tenant-a', role: 'admin', sub: 'admin-7' })
    const response = await get(
      '/v1/admin/tenants/tenant-b/usage?from=2024-05-01&to=2024-01-01',
      token,
    )
    expect(response.status).toBe(400)
    expect((await auditRows(primary)).length).toBe(2)
    expect(await auditRows(replica.database)).toEqual(replicaAudit)
  })

  it('refuses a replica URL without a primary URL', async () => {
    const child = spawn(process.execPath, [ENTRY], {
      env: {
        PATH: process.env.PATH ?? '',
        JWT_SECRET,
        PM_DATA_DIR: 'memory://',
        DATABASE_REPLICA_URL: replica.database.url(ROLES.admin),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    child.stderr?.on('data', (d) => (err += d))
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).toBe(2)
    expect(err).toMatch(/DATABASE_REPLICA_URL needs DATABASE_URL/)
  })
})
