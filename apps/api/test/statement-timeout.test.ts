import { ROLES } from '@penguinmails/schema'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { TestHooks } from '../src/context.js'
import { type ApiHarness, openApiHarness } from './support/api-harness.js'

const TIMEOUT_MS = 100
const RUNS = 10
let h: ApiHarness
const hooks: TestHooks = {}

beforeAll(async () => {
  h = await openApiHarness({
    label: 'api_timeout',
    statementTimeoutMs: TIMEOUT_MS,
    hooks,
    fixture: { campaignsPerTenant: 2, days: 10 },
  })
})

afterAll(async () => {
  await h?.close()
})

it('cancels a slow query at the statement timeout and answers 504 problem+json (H6)', async () => {
  const member = await h.token({ tenant_id: 'tenant-a', role: 'member' })
  // warm the pool first: opening a connection is not what is measured
  expect((await h.get('/v1/usage?from=2024-01-01&to=2024-02-01', member)).status).toBe(200)
  // the test-only knob: every request transaction first runs a query far longer than the timeout
  hooks.beforeRead = async (trx) => void (await sql`select pg_sleep(30)`.execute(trx))
  const superuser = h.database.connect().db
  const elapsedMs: number[] = []
  try {
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now()
      const response = await h.get(
        '/v1/campaigns/performance?from=2024-01-01&to=2024-03-01',
        member,
      )
      const elapsed = performance.now() - started
      elapsedMs.push(Math.round(elapsed))
      expect(response.status).toBe(504)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(await response.json()).toMatchObject({ status: 504, title: 'Query timed out' })
      expect(elapsed, `answered after ${elapsed.toFixed(0)} ms`).toBeLessThan(TIMEOUT_MS + 200)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      // the query is gone from the server, not merely abandoned by the client
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from pg_stat_activity
         where datname = current_database() and usename = ${ROLES.admin}
           and query like '%pg_sleep%' and state <> 'idle'`.execute(superuser)
      expect(rows[0]?.n).toBe('0')
    }
  } finally {
    hooks.beforeRead = undefined
    console.log(`statement timeout ${TIMEOUT_MS} ms: answered after ${elapsedMs.join(', ')} ms`)
  }
  // and the pool still serves
  const ok = await h.get('/v1/campaigns/performance?from=2024-01-01&to=2024-03-01', member)
  expect(ok.status).toBe(200)
})
