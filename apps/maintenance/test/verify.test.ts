import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { recomputeAll } from '@penguinmails/aggregator'
import { exportChainHead, recordAuditEntry } from '@penguinmails/audit-logger'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './support/cli.js'
import { superuser } from './support/superuser.js'
import { insertTenant } from './support/tenant-fixture.js'
import { ERASURE_KEY } from './support/writer-context.js'

let database: TestDatabase
let su: pg.Client
let env: Record<string, string>
let dir: string

beforeAll(async () => {
  database = await createTestDatabase({ label: 'maint_verify' })
  su = await superuser(database)
  env = { DATABASE_URL: database.url(ROLES.writer), PM_ERASURE_KEY: ERASURE_KEY }
  dir = await mkdtemp(join(tmpdir(), 'pm-verify-'))
  await insertTenant(su, {
    name: 'alpha',
    emailIdBase: 1_000_000,
    from: '2025-01-01',
    to: '2025-04-01',
  })
  await insertTenant(su, {
    name: 'beta',
    emailIdBase: 2_000_000,
    from: '2025-02-01',
    to: '2025-03-01',
  })
  const writer = database.connect(ROLES.writer)
  await recomputeAll(writer.db)
  for (let i = 0; i < 5; i++) {
    await recordAuditEntry(writer.db, {
      adminId: 'admin-1',
      action: 'tenant.read',
      resourceType: 'tenant',
    })
  }
})

afterAll(async () => {
  await su?.end()
  await database?.drop()
  await rm(dir, { recursive: true, force: true })
})

describe('verify', () => {
  it('passes when the analytics equal a recompute and the chain is intact, and prints the head to keep', async () => {
    const result = await runCli(['verify', '--all'], env)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('analytics of 2 tenant(s) equal a recompute from source')
    expect(result.stdout).toMatch(/audit chain intact: \d+ entries verified/)
    expect(result.stdout).toMatch(/chain head: \{"version":1,"seq":"\d+"/)
  })

  it('exits 1 naming the table and tenant whose analytics drifted', async () => {
    await su.query(
      `update campaign_analytics set sent = sent + 1 where tenant_id = 'tenant-beta-xyz' and day = (select min(day) from campaign_analytics where tenant_id = 'tenant-beta-xyz')`,
    )
    try {
      const result = await runCli(['verify', '--sample', '2'], env)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(
        'campaign_analytics of tenant tenant-beta-xyz drifted from its source',
      )
    } finally {
      await su.query(
        `update campaign_analytics set sent = sent - 1 where tenant_id = 'tenant-beta-xyz' and day = (select min(day) from campaign_analytics where tenant_id = 'tenant-beta-xyz')`,
      )
    }
  })

  it('with an exported head, detects the tail of the chain cut off (and the run recorded after it)', async () => {
    const writer = database.connect(ROLES.writer)
    const anchor = join(dir, 'head.json')
    await writeFile(anchor, JSON.stringify(await exportChainHead(writer.db)))
    const intact = await runCli(['verify', '--sample', '1', '--anchor', anchor], env)
    expect(intact.code, intact.stderr).toBe(0)
    expect(intact.stdout).toContain('up to the exported head')
    // a superuser removes every entry from the anchor's on, bypassing the append-only triggers
    await su.query('begin')
    await su.query(`set local session_replication_role = replica`)
    await su.query(`alter table admin_audit_log disable trigger all`)
    await su.query(
      `delete from admin_audit_log where seq >= (select max(seq) - 1 from admin_audit_log)`,
    )
    await su.query(`alter table admin_audit_log enable trigger all`)
    await su.query('commit')
    const cut = await runCli(['verify', '--sample', '1', '--anchor', anchor], env)
    expect(cut.code).toBe(1)
    expect(cut.stderr).toMatch(/audit chain broken at entry \d+/)
    const bad = await runCli(['verify', '--anchor', join(dir, 'missing.json')], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain(`cannot read the chain head ${join(dir, 'missing.json')}`)
  })
})
