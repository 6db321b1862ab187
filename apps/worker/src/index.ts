#!/usr/bin/env node
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { createLogger, describeError } from './context.js'
import { EnvError, readWorkerConfig } from './env.js'
import { StartupRefusal } from './preflight.js'
import { startWorker } from './worker.js'

export { readWorkerConfig, type WorkerConfig } from './env.js'
export { type HealthReport, healthReport } from './health.js'
export {
  MAINTENANCE_COMMANDS,
  MAINTENANCE_PATTERNS,
  MAINTENANCE_QUEUE,
  type MaintenanceCommand,
  maintenanceSchedulerId,
  runMaintenanceCommand,
} from './maintenance.js'
export { StartupRefusal } from './preflight.js'
export {
  billingCalculateJob,
  campaignAggregateJob,
  dailyAggregateJob,
  JOB_NAMES,
  QUEUE_NAMES,
  type Queues,
  requestAggregates,
  requestDrain,
  requestDrains,
} from './queues.js'
export { SCHEDULER_IDS, upsertSchedulers } from './schedulers.js'
export { type RunningWorker, type StartOptions, startWorker } from './worker.js'

/**
 * Starts the worker and runs until SIGTERM or SIGINT, then shuts down within the deadline.
 * Exit codes: 0 stopped cleanly; 1 refused to start, failed, or jobs still active at the
 * deadline; 2 invalid configuration.
 */
export async function main(): Promise<number> {
  let config: ReturnType<typeof readWorkerConfig>
  try {
    config = readWorkerConfig()
  } catch (error) {
    if (!(error instanceof EnvError)) throw error
    process.stderr.write(`penguinmails-worker: ${error.message}\n`)
    return 2
  }
  const logger = createLogger(config.logLevel)
  // signals arriving while starting are kept and honoured once started
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  let worker: Awaited<ReturnType<typeof startWorker>>
  try {
    const started = await Promise.race([startWorker(config, { logger }), signal])
    if (typeof started === 'string') {
      // stopped while still starting (e.g. waiting for Redis): nothing runs yet
      logger.info({ signal: started }, 'stopped before the worker started')
      return 0
    }
    worker = started
  } catch (error) {
    if (error instanceof StartupRefusal) {
      logger.fatal(error.message)
      process.stderr.write(`penguinmails-worker: ${error.message}\n`)
    } else logger.fatal(describeError(error), 'could not start the worker')
    return 1
  }
  const received = await signal
  logger.info({ signal: received, timeoutMs: config.shutdownTimeoutMs }, 'shutting down')
  return (await worker.stop(config.shutdownTimeoutMs)) ? 0 : 1
}

/** Runs the worker as a command: the exit code is main's (bin/penguinmails-worker.js). */
export function runCommand(): void {
  main().then(
    (code) => {
      // after a missed deadline, jobs and sockets are still open: leave without them
      process.exit(code)
    },
    (error: unknown) => {
      process.stderr.write(
        `penguinmails-worker: ${error instanceof Error ? error.stack : String(error)}\n`,
      )
      process.exit(1)
    },
  )
}

// run, not imported
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runCommand()
}
