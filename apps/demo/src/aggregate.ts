import { recomputeAll } from '@penguinmails/aggregator'
import type { DB } from '@penguinmails/schema'
import { type Kysely, sql } from 'kysely'
import type { Terminal } from './terminal.js'

/**
 * Recomputes every analytics table from source, one tenant per transaction so the progress moves.
 * Run on every start: it makes the tables exact whatever happened before (a stop in the middle of
 * a drain, data written while the demo was down) and clears the dirty keys it covers.
 */
export async function aggregateAll(db: Kysely<DB>, terminal: Terminal): Promise<number> {
  // PGlite has no autovacuum, so nothing else ever gathers planner statistics there: without them a
  // reopened database plans the recompute badly (a minute instead of seconds for the default size)
  const analyzed = performance.now()
  await sql`analyze`.execute(db)
  terminal.line(`statistics: analyzed in ${((performance.now() - analyzed) / 1000).toFixed(1)} s`)
  const result = await recomputeAll(db, {
    tenantsPerBatch: 1,
    onProgress: (p) => terminal.progress('aggregating', p.tenantsDone, p.tenantsTotal, 'tenants'),
  })
  const rows = result.counts.reduce((sum, c) => sum + c.upserted, 0)
  terminal.finish(
    'analytics:',
    `recomputed ${result.tenants} tenants in ${(result.durationMs / 1000).toFixed(1)} s (${rows.toLocaleString('en-US')} rows written)`,
  )
  return result.durationMs
}
