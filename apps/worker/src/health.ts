import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { WorkerProgress } from './progress.js'

export interface HealthReport {
  status: 'ok' | 'failing'
  /** why it fails; empty when ok */
  problems: string[]
  redis: 'ready' | 'unavailable'
  lastSweepAt: string | null
  lastSweepAgeMs: number | null
  pendingKeys: number
  pendingTenants: number
  oldestDirtyKeyAgeMs: number | null
  activeJobs: number
  completedJobs: number
  failedJobs: number
  lastCompletedAt: string | null
  uptimeMs: number
}

export interface HealthLimits {
  /** a sweep older than this means the process stopped making progress */
  maxSweepAgeMs: number
  /** dirty keys older than this mean the analytics are falling behind */
  maxLagMs: number
  /** false once shutdown began */
  accepting: () => boolean
}

/**
 * Progress, not liveness: fails when Redis is away, when this process has not swept the dirty
 * keys lately, or when the oldest dirty key is older than the freshness budget.
 */
export function healthReport(progress: WorkerProgress, limits: HealthLimits): HealthReport {
  const now = Date.now()
  const sweepAge = progress.lastSweepAt ? now - progress.lastSweepAt.getTime() : null
  // measured at the last sweep; a stale sweep is reported as such
  const oldestAge = progress.oldestDirtyAt ? now - progress.oldestDirtyAt.getTime() : null
  const problems: string[] = []
  if (!limits.accepting()) problems.push('shutting down')
  if (!progress.redisReady) problems.push('Redis is unavailable')
  const sinceStart = now - progress.startedAt.getTime()
  if (sweepAge === null ? sinceStart > limits.maxSweepAgeMs : sweepAge > limits.maxSweepAgeMs)
    problems.push(
      `no sweep of the dirty keys for ${Math.round((sweepAge ?? sinceStart) / 1000)} s (limit ${limits.maxSweepAgeMs / 1000} s)`,
    )
  if (oldestAge !== null && oldestAge > limits.maxLagMs)
    problems.push(
      `the oldest dirty key waits for ${Math.round(oldestAge / 1000)} s (limit ${limits.maxLagMs / 1000} s)`,
    )
  return {
    status: problems.length === 0 ? 'ok' : 'failing',
    problems,
    redis: progress.redisReady ? 'ready' : 'unavailable',
    lastSweepAt: progress.lastSweepAt?.toISOString() ?? null,
    lastSweepAgeMs: sweepAge,
    pendingKeys: progress.pendingKeys,
    pendingTenants: progress.pendingTenants,
    oldestDirtyKeyAgeMs: oldestAge,
    activeJobs: progress.activeJobs,
    completedJobs: progress.completedJobs,
    failedJobs: progress.failedJobs,
    lastCompletedAt: progress.lastCompletedAt?.toISOString() ?? null,
    uptimeMs: sinceStart,
  }
}

export interface HealthServer {
  readonly port: number
  close(): Promise<void>
}

/**
 * GET /healthz: the progress report, 200 when ok, 503 when failing (for readiness and alerts).
 * GET /livez: 200 while the process answers (for a liveness probe that must not restart a worker
 * merely because Redis is down).
 */
export async function startHealthServer(
  progress: WorkerProgress,
  limits: HealthLimits,
  host: string,
  port: number,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'GET only' })
    if (path === '/livez') return send(200, { status: 'alive' })
    if (path === '/healthz' || path === '/health') {
      const report = healthReport(progress, limits)
      return send(report.status === 'ok' ? 200 : 503, report)
    }
    send(404, { error: 'not found: try /healthz or /livez' })
  })
  server.listen(port, host)
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
