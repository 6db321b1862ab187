import { Hono } from 'hono'
import type { Asset } from './dashboard-assets.js'

interface FetchApp {
  fetch(request: Request, env?: unknown): Response | Promise<Response>
}

// the page loads only its own scripts and styles; uPlot sets inline styles on its elements
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/**
 * The demo's one HTTP front: the dashboard's static files at / , /dashboard/* and /vendor/*, and
 * everything else handed to the API app untouched, so the API's routes and OpenAPI document stay
 * exactly the API's.
 */
export function createWebApp(api: FetchApp, assets: Map<string, Asset>): Hono {
  const web = new Hono()
  web.get('*', async (c, next) => {
    const asset = assets.get(c.req.path)
    if (!asset) return next()
    return c.body(asset.body, 200, {
      'content-type': asset.type,
      // the demo is rebuilt in place: always revalidate
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(asset.type.startsWith('text/html')
        ? { 'content-security-policy': CONTENT_SECURITY_POLICY, 'referrer-policy': 'no-referrer' }
        : {}),
    })
  })
  // c.env carries the Node server's bindings: the API reads the client's address from them
  web.all('*', (c) => api.fetch(c.req.raw, c.env))
  return web
}
