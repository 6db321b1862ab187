import { appendActivity } from '@penguinmails/data-generator'
import type { Database } from '@penguinmails/schema'
import { type BackgroundLoop, startBackgroundLoop } from './background-loop.js'
import type { DemoEnv } from './env.js'

/** Changes per batch (new sends and events on recent emails): visible movement, slow growth. */
const CHANGES_PER_BATCH = 10

export interface LiveActivity extends BackgroundLoop {
  /** what the stream wrote so far */
  describe(): string
}

/**
 * The simulated stream of new email activity: every interval, one transaction of new sends
 * (follow-ups, first steps to new leads, warmups) and events (deliveries, opens, replies, bounces…)
 * written by the data generator. The triggers record what it dirties; freshness does the rest.
 */
export function startLiveActivity(
  database: Database,
  env: Pick<DemoEnv, 'streamIntervalMs' | 'demoSeed'>,
  onError: (error: unknown) => void,
): LiveActivity {
  const totals = { batches: 0, inserted: 0, updated: 0, leads: 0 }
  // a different sequence on every start, each batch its own seed
  const base = env.demoSeed * 1_000_003 + (Date.now() % 1_000_000)
  const loop = startBackgroundLoop(async () => {
    const report = await appendActivity(database.db, {
      seed: base + totals.batches,
      count: CHANGES_PER_BATCH,
    })
    totals.batches += 1
    totals.inserted += report.inserted
    totals.updated += report.updated
    totals.leads += report.leads
    return env.streamIntervalMs
  }, onError)
  return {
    stop: loop.stop,
    describe: () =>
      `${totals.inserted.toLocaleString('en-US')} new emails and ${totals.updated.toLocaleString('en-US')} events in ${totals.batches} batches`,
  }
}
