import { UnrecoverableError } from 'bullmq'
import { type JobName, PAYLOADS, type Payload } from '../queues.js'

/**
 * The job's data checked against its schema. A bad payload fails the job at once, without
 * retries (UnrecoverableError): it would be just as bad the next time. It stays in the failed
 * set for inspection.
 */
export function parsePayload<N extends JobName>(name: N, data: unknown): Payload<N> {
  const parsed = PAYLOADS[name].safeParse(data)
  if (parsed.success) return parsed.data as Payload<N>
  const problems = parsed.error.issues.map((i) =>
    i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message,
  )
  throw new UnrecoverableError(`bad ${name} payload: ${problems.join('; ')}`)
}
