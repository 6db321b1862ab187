import type { DB } from '@penguinmails/schema'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { WorkerProgress } from '../progress.js'
import type { Queues } from '../queues.js'

/** What a processor may use: the database, the queues (to enqueue follow-ups), a logger. */
export interface ProcessorContext {
  db: Kysely<DB>
  queues: Queues
  /** already bound to the job: queue, job id, name, attempt */
  logger: Logger
  progress: WorkerProgress
  /** true once shutdown began: long jobs stop at the next safe point */
  stopping(): boolean
}
