import { JOB_NAMES, type Queues, REMOVE_ON_COMPLETE, REMOVE_ON_FAIL } from './queues.js'

// The one place job schedulers are defined and upserted. Upserting is idempotent by id, so every
// worker process does it on start (and again whenever one is missing, e.g. after a FLUSHALL).

export const SCHEDULER_IDS = {
  sweep: 'sweep-dirty-keys',
  daily: 'daily-aggregate-yesterday',
  monthly: 'monthly-billing',
} as const

/** 00:30 UTC: every tenant's local yesterday has ended, whatever its time zone (UTC−12…+14). */
export const DAILY_PATTERN = '30 0 * * *'
/** The 2nd at 01:00 UTC: every tenant's previous local month has ended. */
export const MONTHLY_PATTERN = '0 1 2 * *'

interface SchedulerDefinition {
  id: string
  repeat: { every: number } | { pattern: string; tz: string }
  template: { name: string; data: Record<string, never>; opts: Record<string, unknown> }
}

export function schedulerDefinitions(sweepIntervalMs: number): SchedulerDefinition[] {
  const kept = { removeOnComplete: REMOVE_ON_COMPLETE, removeOnFail: REMOVE_ON_FAIL }
  return [
    {
      id: SCHEDULER_IDS.sweep,
      repeat: { every: sweepIntervalMs },
      // no retries: the next tick, a second later, is the retry
      template: { name: JOB_NAMES.sweep, data: {}, opts: { ...kept, attempts: 1 } },
    },
    {
      id: SCHEDULER_IDS.daily,
      repeat: { pattern: DAILY_PATTERN, tz: 'UTC' },
      template: {
        name: JOB_NAMES.dailyFanout,
        data: {},
        opts: { ...kept, attempts: 5, backoff: { type: 'exponential', delay: 5_000 } },
      },
    },
    {
      id: SCHEDULER_IDS.monthly,
      repeat: { pattern: MONTHLY_PATTERN, tz: 'UTC' },
      template: {
        name: JOB_NAMES.monthlyFanout,
        data: {},
        opts: { ...kept, attempts: 5, backoff: { type: 'exponential', delay: 5_000 } },
      },
    },
  ]
}

/** Creates or updates every job scheduler (all on the `scheduled` queue). */
export async function upsertSchedulers(queues: Queues, sweepIntervalMs: number): Promise<void> {
  for (const s of schedulerDefinitions(sweepIntervalMs)) {
    await queues.scheduled.upsertJobScheduler(s.id, s.repeat, s.template)
  }
}

/** Upserts only the schedulers that are missing (Redis lost its data); returns their ids. */
export async function ensureSchedulers(queues: Queues, sweepIntervalMs: number): Promise<string[]> {
  const recreated: string[] = []
  for (const s of schedulerDefinitions(sweepIntervalMs)) {
    if (await queues.scheduled.getJobScheduler(s.id)) continue
    await queues.scheduled.upsertJobScheduler(s.id, s.repeat, s.template)
    recreated.push(s.id)
  }
  return recreated
}
