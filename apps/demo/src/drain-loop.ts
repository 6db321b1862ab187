import { drainDirtyKeys } from '@penguinmails/aggregator'
import type { DB } from '@penguinmails/schema'
import type { Kysely } from 'kysely'
import { type BackgroundLoop, startBackgroundLoop } from './background-loop.js'

export interface DrainStats {
  batches: number
  keys: number
  lastDurationMs: number
}

/** How long the loop rests when nothing is dirty: freshness within about a second. */
const IDLE_MS = 1_000
const BUSY_MS = 200

/**
 * The in-process stand-in for the BullMQ worker (no REDIS_URL): drains the dirty analytics keys
 * that the change-tracking triggers record, batch after batch, and rests when none is left.
 */
export function startDrainLoop(
  db: Kysely<DB>,
  onError: (error: unknown) => void,
): BackgroundLoop & { stats: DrainStats } {
  const stats: DrainStats = { batches: 0, keys: 0, lastDurationMs: 0 }
  const loop = startBackgroundLoop(async () => {
    const result = await drainDirtyKeys(db)
    if (result.state === 'idle') return IDLE_MS
    if (result.state === 'busy') return BUSY_MS
    stats.batches += 1
    stats.keys += result.keys
    stats.lastDurationMs = result.durationMs
    return 0
  }, onError)
  return { stop: loop.stop, stats }
}
