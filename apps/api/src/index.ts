import { once } from 'node:events'
import type { Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import { createApp } from './app.js'
import { type AppContext, createContext } from './context.js'
import { EnvError, readEnv } from './env.js'
import { describeError } from './logger.js'
import { checkDatabase, prepareEmbeddedDatabase, StartupRefusal } from './preflight.js'

export { createApp } from './app.js'
export { type AppContext, createContext } from './context.js'
export { readEnv } from './env.js'

/**
 * Stops taking connections, lets requests in flight finish (up to the timeout), then closes the
 * database pool and the Redis connection. Resolves true when everything finished in time.
 */
export async function shutdown(
  server: Server,
  context: AppContext,
  timeoutMs: number,
): Promise<boolean> {
  context.accepting = false
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const deadline = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), timeoutMs).unref(),
  )
  const drained = (async () => {
    while (context.metrics.inFlight > 0) await new Promise((r) => setTimeout(r, 25))
    await closed
    return 'drained' as const
  })()
  const outcome = await Promise.race([drained, deadline])
  if (outcome === 'timeout') server.closeAllConnections()
  await context.close()
  return outcome === 'drained'
}

/** Reads the configuration, checks the database, serves, and shuts down on SIGTERM or SIGINT. */
export async function main(): Promise<number> {
  let env: ReturnType<typeof readEnv>
  try {
    env = readEnv()
  } catch (error) {
    if (!(error instanceof EnvError)) throw error
    process.stderr.write(`penguinmails-api: ${error.message}\n`)
    return 2
  }
  const context = createContext(env)
  const { logger } = context
  try {
    await prepareEmbeddedDatabase(context.database)
    await checkDatabase(context.database)
    if (context.replica) await checkDatabase(context.replica)
  } catch (error) {
    if (error instanceof StartupRefusal) logger.error(error.message)
    else
      logger.error('could not check the database', {
        location: context.database.location,
        ...describeError(error),
      })
    await context.close()
    return 1
  }
  const app = createApp(context)
  const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }) as Server
  await once(server, 'listening')
  const address = server.address()
  logger.info('listening', {
    address:
      typeof address === 'object' && address ? `${address.address}:${address.port}` : address,
    database: `${context.database.kind} ${context.database.location}`,
    ...(context.replica ? { replica: context.replica.location } : {}),
  })
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  logger.info('shutting down', { signal, timeoutMs: env.SHUTDOWN_TIMEOUT_MS })
  const clean = await shutdown(server, context, env.SHUTDOWN_TIMEOUT_MS)
  logger.info(clean ? 'stopped' : 'stopped; requests still running at the deadline were cut off')
  return clean ? 0 : 1
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(
        `penguinmails-api: ${error instanceof Error ? error.stack : String(error)}\n`,
      )
      process.exitCode = 1
    },
  )
}
