import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../app-env.js'

// served from the installed swagger-ui-dist: the reference works offline and loads no CDN
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>PenguinMails Analytics API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/initializer.js"></script>
</body>
</html>
`

const INITIALIZER = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
})
`

export interface OpenApiInfo {
  title: string
  version: string
  description: string
}

/** /openapi.json, generated from the routes' zod schemas, and the interactive reference at /docs. */
export function registerDocsRoutes(app: OpenAPIHono<AppEnv>, info: OpenApiInfo): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'HS256 JWT signed with the API secret; claims sub, tenant_id, role (member or admin) and exp are required, nbf is honoured.',
  })
  let document: unknown
  app.get('/openapi.json', (c) => {
    // generated on first request, when every route is registered
    document ??= app.getOpenAPI31Document({ openapi: '3.1.0', info: { ...info } })
    return c.json(document as object)
  })
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const cache = new Map<string, Buffer>()
  app.get('/docs', (c) => c.html(PAGE))
  app.get('/docs/initializer.js', (c) =>
    c.body(INITIALIZER, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  )
  app.get('/docs/:asset', (c) => {
    const asset = c.req.param('asset')
    const type = ASSETS[asset]
    if (!type) return c.notFound()
    let body = cache.get(asset)
    if (!body) {
      body = readFileSync(join(root, asset))
      cache.set(asset, body)
    }
    return c.body(new Uint8Array(body), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=86400',
    })
  })
}
