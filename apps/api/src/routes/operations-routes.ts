import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import { sql } from 'kysely'
import type { AppEnv } from '../app-env.js'
import type { AppContext } from '../context.js'
import { describeError } from '../logger.js'
import { ProblemError, problem } from '../problem.js'
import { ProblemSchema } from '../schemas/row-schemas.js'

const Status = z.object({ status: z.string() }).openapi('Status')

/** /healthz (the process answers), /readyz (it can reach the database) and /metrics. */
export function registerOperationsRoutes(app: OpenAPIHono<AppEnv>, context: AppContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      tags: ['operations'],
      summary: 'Liveness: the process is up',
      responses: {
        200: { description: 'up', content: { 'application/json': { schema: Status } } },
      },
    }),
    (c) => c.json({ status: 'ok' }, 200),
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      tags: ['operations'],
      summary: 'Readiness: the database answers and the server is not shutting down',
      responses: {
        200: { description: 'ready', content: { 'application/json': { schema: Status } } },
        503: {
          description: 'not ready',
          content: { 'application/problem+json': { schema: ProblemSchema } },
        },
      },
    }),
    async (c) => {
      if (!context.accepting)
        throw new ProblemError(problem('unavailable', 'The server is shutting down.'))
      try {
        await context.database.db.transaction().execute(async (trx) => {
          await sql`select set_config('statement_timeout', '2000', true)`.execute(trx)
          await sql`select 1`.execute(trx)
        })
      } catch (error) {
        context.logger.warn('readiness check failed', describeError(error))
        throw new ProblemError(problem('unavailable', 'The database does not answer.'), {
          'retry-after': '5',
        })
      }
      return c.json({ status: 'ready' }, 200)
    },
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      tags: ['operations'],
      summary: 'Prometheus metrics: requests and latency by route and status',
      responses: {
        200: {
          description: 'Prometheus text exposition format 0.0.4',
          content: { 'text/plain': { schema: z.string() } },
        },
      },
    }),
    (c) =>
      c.text(context.metrics.render(), 200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      }),
  )
}
