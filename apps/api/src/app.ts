import { randomUUID } from 'node:crypto'
import { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { methodNotAllowed } from 'hono/method-not-allowed'
import { matchedRoutes } from 'hono/route'
import type { AppEnv } from './app-env.js'
import type { AppContext } from './context.js'
import { errorHandler, methodNotAllowedResponse, notFoundHandler } from './error-handler.js'
import { ProblemError, problem } from './problem.js'
import { registerAdminRoutes } from './routes/admin-routes.js'
import { registerCampaignRoutes } from './routes/campaign-routes.js'
import { registerDocsRoutes } from './routes/docs-routes.js'
import { registerExplainRoutes } from './routes/explain-routes.js'
import { registerForecastRoutes } from './routes/forecast-routes.js'
import { registerOperationsRoutes } from './routes/operations-routes.js'
import { registerTenantRoutes } from './routes/tenant-routes.js'
import { validationHook } from './validation-hook.js'

/** No route takes a body; anything larger than this is refused before it is read. */
export const MAX_BODY_BYTES = 16 * 1024

export const API_VERSION = '0.1.0'

/** The route pattern a request matched (never its raw path), or `unmatched`. */
function routeLabel(c: Parameters<typeof matchedRoutes>[0]): string {
  const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL')
  return handlers[handlers.length - 1]?.path ?? 'unmatched'
}

/** The API as a Hono app; serve it with @hono/node-server, or call app.request() in tests. */
export function createApp(context: AppContext): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  app.onError(errorHandler(context.logger, context.config.statementTimeoutMs))
  app.notFound(notFoundHandler)

  app.use('*', async (c, next) => {
    const started = performance.now()
    const requestId = randomUUID()
    c.set('requestId', requestId)
    // set before the response exists, they go into it as it is built (c.body, c.json); setting a
    // header on a finished response rebuilds it, which cost more than the rest of a cached read
    c.header('x-request-id', requestId)
    c.header('x-content-type-options', 'nosniff')
    context.metrics.requestStarted()
    try {
      await next()
    } finally {
      context.metrics.requestFinished(
        c.req.method,
        routeLabel(c),
        c.res.status,
        (performance.now() - started) / 1000,
      )
    }
    // responses built without the context (problem+json, CSV) get them here
    if (!c.res.headers.has('x-request-id')) {
      c.header('x-request-id', requestId)
      c.header('x-content-type-options', 'nosniff')
    }
  })
  app.use('*', methodNotAllowed({ app, onMethodNotAllowed: methodNotAllowedResponse }))
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ProblemError(
        problem('payloadTooLarge', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`),
      )
    },
  })
  // a request without Content-Length or Transfer-Encoding has no body (RFC 9112, 6.3); the limit's
  // own test of the body would make the Node adapter build a whole Request for every GET
  app.use('*', (c, next) =>
    c.req.header('content-length') === undefined && c.req.header('transfer-encoding') === undefined
      ? next()
      : limitBody(c, next),
  )

  registerOperationsRoutes(app, context)
  registerCampaignRoutes(app, context)
  registerTenantRoutes(app, context)
  registerAdminRoutes(app, context)
  registerExplainRoutes(app, context)
  registerForecastRoutes(app, context)
  registerDocsRoutes(app, {
    title: 'PenguinMails Analytics API',
    version: API_VERSION,
    description:
      'Read API over the PenguinMails analytics tables. Every /v1 route needs a bearer JWT; tenant routes read the token’s tenant only, /v1/admin routes need the admin role and are audited. Errors are RFC 9457 application/problem+json. Lists are keyset-paginated (pass next_cursor back as cursor) and export as CSV with Accept: text/csv or format=csv.',
  })
  return app
}
