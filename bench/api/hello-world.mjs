// The baseline of the API benchmark: a Hono hello-world on @hono/node-server, the same stack as the
// API, in a process of its own. node bench/api/hello-world.mjs → prints {"port": N} on stdout.
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const require = createRequire(new URL('../../apps/api/package.json', import.meta.url))
const load = (name) => import(pathToFileURL(require.resolve(name)).href)
const { Hono } = await load('hono')
const { serve } = await load('@hono/node-server')

const app = new Hono()
app.get('/', (c) => c.json({ hello: 'world' }))
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
