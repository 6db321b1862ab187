import { tenantFreshnessAndVersion } from '@penguinmails/bi-queries'
import type { FixtureTenant } from '@penguinmails/bi-queries/testing'
import { type DB, queryAsRole, ROLES, withTenant } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FreshnessProbe, PROBE_SQL, type ProbeRow, probeResults } from '../src/freshness-probe.js'
import { freshnessProbe, memberFreshnessAndVersion } from '../src/read-scope.js'
import { drainAll, insertEmail } from './support/aggregated-emails.js'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

const TENANT_COUNT = 8
const TENANTS: FixtureTenant[] = Array.from({ length: TENANT_COUNT }, (_, i) => ({
  id: `probe-tenant-${i}`,
  time_zone: i % 2 ? 'UTC' : 'Europe/Berlin',
}))
const PERFORMANCE = '/v1/campaigns/performance?from=2024-02-01&to=2024-03-01'

let h: ApiHarness
let writer: Kysely<DB>
const tokens = new Map<string, string>()
let nextEmail = 9000

interface Body {
  data: { campaign_id: string; sent: number }[]
  freshness: { as_of: string; pending_changes: number }
}

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_freshness_probe',
    seed: 17,
    tenants: TENANTS,
    fixture: { campaignsPerTenant: 2, mailboxesPerTenant: 1, leadsPerTenant: 2 },
  })
  writer = h.database.connect(ROLES.writer).db
  for (const { id } of TENANTS) tokens.set(id, await h.token({ tenant_id: id, role: 'member' }))
  // the fixture's analytics have no source emails behind them (a drain recomputes them away):
  // give each tenant one aggregated email
  for (const { id } of TENANTS) await insertEmail(h, writer, id, nextEmail++)
  await drainAll(writer)
})

afterAll(async () => {
  await h?.close()
})

/** The tenant's emails sent in the range, computed from its campaign-days, as its reader. */
async function sentInRange(tenant: string): Promise<number> {
  return withTenant(h.api.db, tenant, async (trx) => {
    const { rows } = await sql<{ sent: number }>`
      select coalesce(sum(sent), 0)::int as sent from campaign_analytics
       where tenant_id = ${tenant} and day >= '2024-02-01' and day < '2024-03-01'`.execute(trx)
    return (rows[0] as { sent: number }).sent
  })
}

/** The probe counters of /metrics. */
async function probeMetrics(): Promise<{ probes: number; tenants: number; lookups: number }> {
  const text = await (await h.get('/metrics', null)).text()
  const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])
  return {
    probes: counter('api_freshness_probes_total'),
    tenants: counter('api_freshness_probe_tenants_total'),
    lookups: counter('api_freshness_probe_lookups_total'),
  }
}

async function readPerformance(tenant: string): Promise<Body> {
  const response = await h.get(PERFORMANCE, tokens.get(tenant) as string)
  expect(response.status).toBe(200)
  return (await response.json()) as Body
}

describe('the coalesced freshness probe', () => {
  it('returns, per tenant, exactly what the tenant’s own reader reads, and zeros for a tenant without rows', async () => {
    await insertEmail(h, writer, 'probe-tenant-3', nextEmail++)
    const ids = [...TENANTS.map((t) => t.id), 'no-such-tenant']
    const probed = probeResults(await queryAsRole<ProbeRow>(h.api, ROLES.admin, PROBE_SQL, ids))
    expect([...probed.keys()].sort()).toEqual([...ids].sort())
    for (const id of ids) {
      const own = await withTenant(h.api.db, id, (trx) => tenantFreshnessAndVersion(trx, id))
      const got = probed.get(id)
      expect(got?.version).toBe(own.version)
      expect(got?.freshness.pending_changes).toBe(own.freshness.pending_changes)
      // with nothing pending as_of is each statement's now(); with changes pending, their oldest
      if (own.freshness.pending_changes > 0) expect(got?.freshness.as_of).toBe(own.freshness.as_of)
    }
    expect(probed.get('probe-tenant-3')?.freshness.pending_changes).toBeGreaterThan(0)
    expect(probed.get('no-such-tenant')).toMatchObject({
      version: '0',
      freshness: { pending_changes: 0 },
    })
    await drainAll(writer)
  })

  it('cannot be called by a tenant’s reader role', async () => {
    await expect(
      queryAsRole(h.api, ROLES.reader, PROBE_SQL, ['probe-tenant-0', 'probe-tenant-1']),
    ).rejects.toThrow(/permission denied/)
  })

  it('reads the hits waiting at one moment, of many tenants, with one statement, each its own figures', async () => {
    const probe = freshnessProbe(h.context)
    // let a probe still in flight from an earlier test come back
    await memberFreshnessAndVersion(h.context, 'probe-tenant-0')
    const sentBefore = probe.sent
    const metricsBefore = await probeMetrics()
    const ids = Array.from({ length: 200 }, (_, i) => TENANTS[i % TENANT_COUNT]?.id as string)
    const results = await Promise.all(ids.map((id) => memberFreshnessAndVersion(h.context, id)))
    expect(probe.sent - sentBefore).toBe(1)
    const metricsAfter = await probeMetrics()
    expect(metricsAfter.probes - metricsBefore.probes).toBe(1)
    expect(metricsAfter.tenants - metricsBefore.tenants).toBe(TENANT_COUNT)
    expect(metricsAfter.lookups - metricsBefore.lookups).toBe(200)
    for (const [i, id] of ids.entries()) {
      const own = await withTenant(h.api.db, id, (trx) => tenantFreshnessAndVersion(trx, id))
      expect(results[i]?.version).toBe(own.version)
    }
  })

  it.each([1, 2])(
    'never lets a request join a probe already sent (%i in flight at most): a later probe reads it, and sees a commit made meanwhile',
    async (maxInFlight) => {
      const tenant = 'probe-tenant-5'
      const read = (ids: readonly string[]) =>
        queryAsRole<ProbeRow>(h.api, ROLES.admin, PROBE_SQL, ids).then(probeResults)
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const sent: string[][] = []
      // the first probe reads the database, then is held on its way back until the gate opens
      const probe = new FreshnessProbe(
        async (ids) => {
          sent.push([...ids])
          const found = await read(ids)
          if (sent.length === 1) await gate
          return found
        },
        undefined,
        maxInFlight,
      )
      const first = probe.probe(tenant)
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(sent).toHaveLength(1)
      // a change committed and aggregated after the first probe read, before the second request
      await insertEmail(h, writer, tenant, nextEmail++)
      await drainAll(writer)
      const second = probe.probe(tenant)
      await new Promise((resolve) => setTimeout(resolve, 50))
      // with one probe out at most, the second waits for the first to return; with two, it goes
      expect(sent).toHaveLength(maxInFlight === 1 ? 1 : 2)
      release()
      const [before, after] = await Promise.all([first, second])
      expect(sent).toEqual([[tenant], [tenant]])
      expect(after.version).not.toBe(before.version)
      const own = await withTenant(h.api.db, tenant, (trx) =>
        tenantFreshnessAndVersion(trx, tenant),
      )
      expect(after.version).toBe(own.version)
    },
  )

  it('fails every request of a failed probe, and the next probe works again', async () => {
    let calls = 0
    const probe = new FreshnessProbe(async (ids) => {
      calls++
      const text = calls === 1 ? 'select * from pm_no_such_function($1)' : PROBE_SQL
      return probeResults(await queryAsRole<ProbeRow>(h.api, ROLES.admin, text, ids))
    })
    const failed = await Promise.allSettled([
      probe.probe('probe-tenant-1'),
      probe.probe('probe-tenant-2'),
    ])
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    const ok = await probe.probe('probe-tenant-1')
    expect(ok.freshness.pending_changes).toBe(0)
  })

  it('under concurrent load across tenants, every change aggregated before a request arrived is in its response, and only its tenant’s rows', async () => {
    const campaignsOf = new Map(
      TENANTS.map((t) => [
        t.id,
        new Set(h.fixture.campaigns.filter((c) => c.tenant_id === t.id).map((c) => c.id)),
      ]),
    )
    const check = (tenant: string, body: Body) => {
      for (const row of body.data) expect(campaignsOf.get(tenant)?.has(row.campaign_id)).toBe(true)
    }
    // fill the cache, so that what follows is hits unless a version moved
    for (const { id } of TENANTS) await readPerformance(id)
    // background load that keeps probes in flight while the changes below commit
    let running = true
    let background = 0
    const load = Array.from({ length: 12 }, async (_, worker) => {
      for (let i = 0; running; i++) {
        const tenant = TENANTS[(worker + i) % TENANT_COUNT]?.id as string
        check(tenant, await readPerformance(tenant))
        background++
      }
    })
    try {
      for (let round = 0; round < 6; round++) {
        const changed = TENANTS.filter((_, i) => (i + round) % 3 === 0).map((t) => t.id)
        for (const tenant of changed) await insertEmail(h, writer, tenant, nextEmail++)
        await drainAll(writer)
        // the aggregation has committed: every request from now on must show it (sent at once,
        // while the background's probes are in flight; nothing writes until the next round, so
        // the figures computed after them are those of when they arrived)
        const bodies = await Promise.all(
          TENANTS.flatMap(({ id }) =>
            Array.from({ length: 5 }, async () => ({ id, body: await readPerformance(id) })),
          ),
        )
        const expected = new Map<string, number>()
        for (const { id } of TENANTS) expected.set(id, await sentInRange(id))
        for (const { id, body } of bodies) {
          check(id, body)
          expect(body.data.reduce((total, row) => total + row.sent, 0)).toBe(expected.get(id))
        }
      }
    } finally {
      running = false
      await Promise.all(load)
    }
    expect(background).toBeGreaterThan(0)
  })
})
