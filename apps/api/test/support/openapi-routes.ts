import type { ApiHarness } from './api-harness.js'

export interface DocumentedRoute {
  /** OpenAPI path, e.g. /v1/campaigns/{campaignId}/trend */
  path: string
  operationId: string
  secured: boolean
  admin: boolean
  paginated: boolean
  pathParams: string[]
  queryParams: { name: string; required: boolean; schema: Record<string, unknown> }[]
}

interface Operation {
  operationId: string
  security?: Record<string, string[]>[]
  parameters?: { name: string; in: string; required?: boolean; schema: Record<string, unknown> }[]
}

/** Every GET operation of the API's own /openapi.json: the tests enumerate routes from it. */
export async function documentedRoutes(h: ApiHarness): Promise<DocumentedRoute[]> {
  const doc = (await (await h.get('/openapi.json', null)).json()) as {
    paths: Record<string, { get?: Operation }>
  }
  return Object.entries(doc.paths).flatMap(([path, item]) => {
    const op = item.get
    if (!op) return []
    const params = op.parameters ?? []
    return [
      {
        path,
        operationId: op.operationId,
        secured: (op.security ?? []).some((s) => 'bearerAuth' in s),
        admin: path.startsWith('/v1/admin/'),
        paginated: params.some((p) => p.name === 'cursor'),
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, required: p.required === true, schema: p.schema })),
      },
    ]
  })
}

/** A valid value for each query parameter the routes take, by name. */
export const VALID_QUERY: Record<string, string> = {
  from: '2024-01-01',
  to: '2024-04-01',
  days: '60',
  // the explain routes' required choice of figure
  rate: 'open_rate',
}

/** A URL of the route with valid parameters; `path` overrides path parameter values. */
export function routeUrl(
  route: DocumentedRoute,
  path: Record<string, string>,
  query: Record<string, string> = {},
): string {
  let url = route.path
  for (const name of route.pathParams) {
    const value = path[name]
    if (value === undefined) throw new Error(`no value for path parameter ${name} of ${route.path}`)
    url = url.replace(`{${name}}`, encodeURIComponent(value))
  }
  const search = new URLSearchParams()
  for (const p of route.queryParams)
    if (p.required || (p.name === 'days' && VALID_QUERY.days))
      search.set(p.name, VALID_QUERY[p.name] ?? '')
  if (
    route.queryParams.some((p) => p.name === 'to') &&
    !route.queryParams.some((p) => p.name === 'from')
  )
    search.set('to', '2024-03-20')
  for (const [k, v] of Object.entries(query)) search.set(k, v)
  const qs = search.toString()
  return qs ? `${url}?${qs}` : url
}
