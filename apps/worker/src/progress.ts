/**
 * What this process has done lately, for the health check: it watches progress (sweeps running,
 * dirty keys getting older or not), not only whether the process is alive.
 */
export class WorkerProgress {
  readonly startedAt = new Date()
  /** the last time this process looked at the dirty keys (a sweep job or its own repair pass) */
  lastSweepAt: Date | undefined
  /** dirty-key rows waiting at the last sweep */
  pendingKeys = 0
  /** tenants with dirty keys at the last sweep */
  pendingTenants = 0
  /** when the oldest waiting dirty key was recorded, at the last sweep */
  oldestDirtyAt: Date | undefined
  activeJobs = 0
  completedJobs = 0
  failedJobs = 0
  lastCompletedAt: Date | undefined
  redisReady = false

  recordSweep(pending: { pending: number; oldest: Date }[]): void {
    this.lastSweepAt = new Date()
    this.pendingTenants = pending.length
    this.pendingKeys = pending.reduce((n, p) => n + p.pending, 0)
    this.oldestDirtyAt = pending.reduce<Date | undefined>(
      (min, p) => (min === undefined || p.oldest < min ? p.oldest : min),
      undefined,
    )
  }
}
