import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { describeError } from './context.js'
import { REMOVE_ON_COMPLETE, REMOVE_ON_FAIL } from './queues.js'

// The maintenance runner (apps/maintenance) scheduled from the worker: a job scheduler per chosen
// command on a queue of its own (a long archive never delays the sweep), whose jobs run the
// maintenance command line in a child process. The runner keeps its own lock, timeouts, audit
// entry and system event; nothing of it is copied here.

/** The commands a worker may schedule: those that need no argument (not anonymize). */
export const MAINTENANCE_COMMANDS = [
  'partitions',
  'analyze',
  'refresh',
  'archive',
  'verify',
] as const
export type MaintenanceCommand = (typeof MAINTENANCE_COMMANDS)[number]

export const MAINTENANCE_QUEUE = 'maintenance'
export const MAINTENANCE_JOB = 'maintenance'

/** When each command runs (UTC). */
export const MAINTENANCE_PATTERNS: Record<MaintenanceCommand, string> = {
  /** nightly: partitions for the months ahead exist long before a row needs them */
  partitions: '15 2 * * *',
  analyze: '45 2 * * *',
  refresh: '0 * * * *',
  /** weekly, Sunday: moves rows older than 2 years (the runner's default) */
  archive: '30 3 * * 0',
  /** weekly, Sunday: a sample of tenants recomputed, the audit chain verified */
  verify: '0 5 * * 0',
}

export const maintenanceSchedulerId = (command: MaintenanceCommand) => `maintenance-${command}`

/** The maintenance command line (apps/maintenance/dist/index.js), resolved from the dependency. */
export function maintenanceCli(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('@penguinmails/maintenance/package.json')), 'dist/index.js')
}

export interface MaintenanceRun {
  command: MaintenanceCommand
  exitCode: number
  message: string
  details?: Record<string, unknown>
  problems?: string[]
}

export interface RunMaintenanceOptions {
  /** PostgreSQL as pm_writer: the runner refuses other roles */
  databaseUrl: string
  /** who the audit trail names */
  actor?: string
  /** aborting sends SIGTERM: the runner rolls its current step back and exits */
  signal?: AbortSignal
  cli?: string
}

/**
 * Runs `maintenance <command> --wait --json` (queued behind a run already in progress rather than
 * skipped) and resolves with its report; rejects with the runner's message when it fails
 * (UnrecoverableError for a bad configuration, which retrying will not fix).
 */
export function runMaintenanceCommand(
  command: MaintenanceCommand,
  options: RunMaintenanceOptions,
): Promise<MaintenanceRun> {
  const child = spawn(
    process.execPath,
    [options.cli ?? maintenanceCli(), command, '--wait', '--json'],
    {
      env: {
        DATABASE_URL: options.databaseUrl,
        PM_MAINTENANCE_ACTOR: options.actor ?? 'system:worker',
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
    },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      if (error.name !== 'AbortError') reject(error)
    })
    child.on('close', (code, signal) => {
      const report = lastJsonLine(stdout)
      if (code === 0 && report) {
        resolve({ command, exitCode: 0, message: String(report.message ?? ''), ...pick(report) })
        return
      }
      const why =
        (typeof report?.message === 'string' ? report.message : '') ||
        stderr.trim().split('\n').slice(-5).join('\n') ||
        (signal ? `killed by ${signal}` : 'no output')
      const message = `maintenance ${command} exited with ${code ?? signal}: ${why}`
      reject(code === 2 ? new UnrecoverableError(message) : new Error(message))
    })
  })
}

function lastJsonLine(text: string): Record<string, unknown> | undefined {
  const line = text.trim().split('\n').at(-1)
  if (!line) return undefined
  try {
    const value = JSON.parse(line) as unknown
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function pick(report: Record<string, unknown>): Pick<MaintenanceRun, 'details' | 'problems'> {
  return {
    ...(report.details && typeof report.details === 'object'
      ? { details: report.details as Record<string, unknown> }
      : {}),
    ...(Array.isArray(report.problems) ? { problems: report.problems as string[] } : {}),
  }
}

/** Creates the schedulers of `commands` and removes those of the other commands. */
export async function upsertMaintenanceSchedulers(
  queue: Queue,
  commands: readonly MaintenanceCommand[],
): Promise<void> {
  for (const command of MAINTENANCE_COMMANDS) {
    const id = maintenanceSchedulerId(command)
    if (!commands.includes(command)) {
      await queue.removeJobScheduler(id)
      continue
    }
    await queue.upsertJobScheduler(
      id,
      { pattern: MAINTENANCE_PATTERNS[command], tz: 'UTC' },
      {
        name: MAINTENANCE_JOB,
        data: { command },
        opts: {
          attempts: 3,
          backoff: { type: 'exponential', delay: 60_000 },
          removeOnComplete: REMOVE_ON_COMPLETE,
          removeOnFail: REMOVE_ON_FAIL,
        },
      },
    )
  }
}

export interface MaintenanceScheduling {
  /** the commands scheduled and consumed here */
  readonly commands: readonly MaintenanceCommand[]
  /** upserts the schedulers that went missing (Redis lost its data); returns their ids */
  ensure(): Promise<string[]>
  /** stops taking jobs; a command running is sent SIGTERM (its current step rolls back) */
  close(): Promise<void>
}

export interface MaintenanceDeps {
  connection: Redis
  prefix: string
  /** undefined (the embedded database): nothing is scheduled, and former schedulers are removed */
  databaseUrl: string | undefined
  commands: readonly MaintenanceCommand[]
  logger: Logger
  lockDurationMs: number
  cli?: string
}

/**
 * Upserts the schedulers of the chosen commands (removing those of the others) and consumes their
 * queue, one command at a time. With no command chosen, or the embedded database (which belongs to
 * this process: the runner, another process, cannot open it), it only removes the schedulers.
 */
export async function startMaintenanceScheduling(
  deps: MaintenanceDeps,
): Promise<MaintenanceScheduling> {
  const { databaseUrl } = deps
  const commands = databaseUrl === undefined ? [] : deps.commands
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: deps.connection, prefix: deps.prefix })
  queue.on('error', (error) => deps.logger.debug(describeError(error), 'maintenance queue error'))
  await upsertMaintenanceSchedulers(queue, commands)
  if (databaseUrl === undefined || commands.length === 0) {
    if (deps.commands.length > 0) {
      deps.logger.info(
        { commands: deps.commands },
        'maintenance is not scheduled without DATABASE_URL (the embedded database); run pnpm maintenance instead',
      )
    }
    await queue.close()
    return { commands, ensure: async () => [], close: async () => undefined }
  }
  const abort = new AbortController()
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job: Job) => {
      const command = (job.data as { command?: unknown }).command
      if (job.name !== MAINTENANCE_JOB || !MAINTENANCE_COMMANDS.includes(command as never)) {
        throw new UnrecoverableError(
          `not a maintenance job: expected name "${MAINTENANCE_JOB}" and a command among ${MAINTENANCE_COMMANDS.join(', ')}`,
        )
      }
      const log = deps.logger.child({ queue: MAINTENANCE_QUEUE, jobId: job.id, command })
      log.info('maintenance command started')
      const run = await runMaintenanceCommand(command as MaintenanceCommand, {
        databaseUrl,
        signal: abort.signal,
        ...(deps.cli ? { cli: deps.cli } : {}),
      })
      log.info({ message: run.message }, 'maintenance command done')
      return run
    },
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: 1,
      lockDuration: deps.lockDurationMs,
      removeOnComplete: REMOVE_ON_COMPLETE,
      removeOnFail: REMOVE_ON_FAIL,
    },
  )
  worker.on('error', (error) => deps.logger.debug(describeError(error), 'maintenance worker error'))
  worker.on('failed', (job, error) =>
    deps.logger.error({ jobId: job?.id, err: error.message }, 'maintenance job failed'),
  )
  return {
    commands,
    async ensure() {
      const missing: MaintenanceCommand[] = []
      for (const command of commands) {
        if (!(await queue.getJobScheduler(maintenanceSchedulerId(command)))) missing.push(command)
      }
      if (missing.length > 0) await upsertMaintenanceSchedulers(queue, commands)
      return missing.map(maintenanceSchedulerId)
    },
    async close() {
      abort.abort()
      await worker.close()
      await queue.close()
    },
  }
}
