import { InvalidQueryError } from '@penguinmails/bi-queries'
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { AppEnv } from './app-env.js'
import { describeError, type Logger } from './logger.js'
import { type Problem, ProblemError, problem, problemResponse } from './problem.js'

// SQLSTATEs and socket errors that mean "the database is not there right now", not a bug
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
])

const UNAVAILABLE_MESSAGES = [/Connection terminated/i, /timeout exceeded when trying to connect/i]

function withInstance(c: Context<AppEnv>, body: Problem): Problem {
  return { ...body, instance: `urn:uuid:${c.get('requestId')}` }
}

/** Turns any error into a problem+json response, and logs what the client must not see. */
export function errorHandler(logger: Logger, statementTimeoutMs: number): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof ProblemError)
      return problemResponse(withInstance(c, error.problem), error.headers)
    if (error instanceof InvalidQueryError)
      return problemResponse(
        withInstance(
          c,
          problem('invalidParameters', `query parameter '${error.parameter}': ${error.reason}`, {
            errors: [{ in: 'query', name: error.parameter, reason: error.reason }],
          }),
        ),
      )
    if (error instanceof HTTPException) {
      const byStatus: Record<number, Problem> = {
        400: problem('badRequest', 'The request could not be read.'),
        401: problem('unauthorized', 'A valid bearer token is required.'),
        413: problem('payloadTooLarge', 'The request body is larger than this API accepts.'),
        415: problem('unsupportedMediaType', 'This content type is not accepted here.'),
      }
      const body = byStatus[error.status] ?? problem('badRequest', 'The request could not be read.')
      return problemResponse(withInstance(c, body))
    }
    const code = String((error as { code?: unknown }).code ?? '')
    const fields = { requestId: c.get('requestId'), path: c.req.path, ...describeError(error) }
    if (code === '57014') {
      logger.warn('query cancelled by statement_timeout', fields)
      return problemResponse(
        withInstance(
          c,
          problem(
            'queryTimeout',
            `The query took longer than ${statementTimeoutMs} ms and was cancelled. Narrow the date range or the filters, or retry later.`,
          ),
        ),
      )
    }
    if (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_MESSAGES.some((m) => m.test(error.message))) {
      logger.error('database unavailable', fields)
      return problemResponse(
        withInstance(c, problem('unavailable', 'The database is unavailable. Retry later.')),
        { 'retry-after': '5' },
      )
    }
    logger.error('request failed', fields)
    return problemResponse(
      withInstance(
        c,
        problem(
          'internal',
          `An unexpected error occurred. If it persists, report the request id ${c.get('requestId')}.`,
        ),
      ),
    )
  }
}

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(
    withInstance(
      c,
      problem('notFound', `No route ${c.req.path}. The routes are listed at /openapi.json.`),
    ),
  )

export function methodNotAllowedResponse(c: Context<AppEnv>, methods: string[]): Response {
  return problemResponse(
    withInstance(
      c,
      problem(
        'methodNotAllowed',
        `${c.req.method} is not allowed on ${c.req.path}; allowed: ${methods.join(', ')}.`,
      ),
    ),
    { allow: methods.join(', ') },
  )
}
