import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi'
import {
  type PeriodComparison,
  type TenantFreshness,
  tenantFreshness,
  tenantFreshnessAndVersion,
} from '@penguinmails/bi-queries'
import type { DB } from '@penguinmails/schema'
import type { Context } from 'hono'
import { accepts } from 'hono/accepts'
import type { Transaction } from 'kysely'
import type { AppEnv } from '../app-env.js'
import { bearerAuth } from '../auth/bearer-auth.js'
import type { RoleClaim } from '../auth/principal.js'
import type { AppContext } from '../context.js'
import { csvResponse } from '../csv-stream.js'
import { FRESHNESS_HEADERS, freshnessHeaders } from '../freshness-headers.js'
import { ProblemError, problem } from '../problem.js'
import { rateLimit } from '../rate-limit.js'
import { auditRejectedAdminRequests, memberFreshnessAndVersion, scopedRead } from '../read-scope.js'
import { cachedBodyText, resultCacheKey } from '../result-cache.js'
import { DEFAULT_API_PAGE_SIZE } from '../schemas/query-parameters.js'
import { FreshnessSchema, PeriodComparisonSchema, ProblemSchema } from '../schemas/row-schemas.js'

/** CSV exports walk a list in steps this large, in one transaction. */
const EXPORT_PAGE_SIZE = 1000

export interface ReadResult {
  rows: readonly object[]
  nextCursor?: string | null
  /** more top-level fields of the JSON body (the window a list covers, …) */
  extra?: Record<string, unknown>
}

export interface ReadInput<Query, Params> {
  tenantId: string
  query: Query
  params: Params
  limit: number
  cursor: string | undefined
}

// biome-ignore lint/suspicious/noExplicitAny: any zod object is a query or path schema here
type AnyObject = z.ZodObject<any>

export interface ReadDefinition<Q extends AnyObject, P extends AnyObject> {
  /** the resource type in audit entries, in snake_case; also names the operation */
  name: string
  /** below /v1 (tenant routes) or /v1/admin (admin-table routes), OpenAPI style: /campaigns/{campaignId} */
  path: string
  summary: string
  description: string
  tag: string
  query: Q
  params: P
  row: AnyObject
  paginated: boolean
  /** more top-level JSON fields besides data and next_cursor */
  extra?: Record<string, z.ZodType>
  /**
   * Members' JSON reads may be served from the result cache (context.resultCache) while the
   * tenant's data version is unchanged. Only for reads whose every table bumps that version
   * (migration 0010: the analytics tables, campaigns, tenants) and whose answer does not depend
   * on the clock; never for admins, whose every read is audited.
   */
  cacheable?: boolean
  resourceId?: (params: z.output<P>) => string | undefined
  /** null: the path names something the tenant does not have (404) */
  read(trx: Transaction<DB>, input: ReadInput<z.output<Q>, z.output<P>>): Promise<ReadResult | null>
  /**
   * With `compare=previous` (the query schema must have compareField): the range's totals against
   * the period of equal length before it, in the read's transaction, after the read.
   */
  compare?(
    trx: Transaction<DB>,
    input: ReadInput<z.output<Q>, z.output<P>>,
    result: ReadResult,
  ): Promise<PeriodComparison>
}

const problemContent = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
})

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_, __, ch: string) => ch.toUpperCase())
}

function wantsCsv(c: Context<AppEnv>, format: unknown): boolean {
  if (format !== undefined) return format === 'csv'
  if (!c.req.header('accept')) return false
  return (
    accepts(c, {
      header: 'Accept',
      supports: ['application/json', 'text/csv'],
      default: 'application/json',
    }) === 'text/csv'
  )
}

function notFound(kinds: string[]): ProblemError {
  // names the kind of id, never echoes it: the answer for another tenant's id and for an id that
  // never existed is the same
  return new ProblemError(
    problem('notFound', `No such ${kinds.join(' or ') || 'resource'} in this tenant.`),
  )
}

const idKinds = (params: Record<string, unknown>) =>
  Object.keys(params)
    .filter((key) => key !== 'tenantId')
    .map((key) => key.replace(/Id$/, ''))

async function tenantExists(trx: Transaction<DB>, tenantId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('tenants')
    .select('id')
    .where('id', '=', tenantId)
    .executeTakeFirst()
  return row !== undefined
}

interface Variant {
  path: string
  operationId: string
  tags: string[]
  roles: readonly RoleClaim[]
  /** where the tenant read comes from */
  tenant: 'token' | 'path' | 'none'
}

function register<Q extends AnyObject, P extends AnyObject>(
  app: OpenAPIHono<AppEnv>,
  context: AppContext,
  def: ReadDefinition<Q, P>,
  variant: Variant,
): void {
  const params =
    variant.tenant === 'path' ? def.params.extend({ tenantId: tenantIdParam }) : def.params
  const envelope = z
    .object({
      data: z.array(def.row),
      ...(def.paginated
        ? {
            next_cursor: z
              .string()
              .nullable()
              .openapi({ description: 'pass as cursor for the next page; null on the last' }),
          }
        : {}),
      ...def.extra,
      ...(variant.tenant !== 'none' ? { freshness: FreshnessSchema } : {}),
      ...(def.compare ? { comparison: PeriodComparisonSchema.optional() } : {}),
    })
    .openapi(`${pascal(def.name)}Response`)
  const route = createRoute({
    method: 'get',
    path: variant.path,
    operationId: variant.operationId,
    tags: variant.tags,
    summary: def.summary,
    description: def.description,
    security: [{ bearerAuth: [] }],
    middleware: [
      bearerAuth(context.config, variant.roles),
      // before the limiter, so that a refused admin request is audited too
      auditRejectedAdminRequests(context, def.name, variant.tenant),
      rateLimit(context.rateLimiter),
    ] as const,
    request: {
      query: def.query,
      ...(Object.keys(params.shape).length > 0 ? { params } : {}),
    },
    responses: {
      200: {
        description: 'the rows, as JSON, or all of them streamed as CSV',
        ...(variant.tenant !== 'none' ? { headers: FRESHNESS_HEADERS } : {}),
        content: {
          'application/json': { schema: envelope },
          'text/csv': {
            schema: z.string().openapi({ description: 'a header line, then one line per row' }),
          },
        },
      },
      400: problemContent('a parameter is invalid; errors[] names it'),
      401: problemContent('no valid bearer token'),
      403: problemContent('the token does not carry the role this route requires'),
      404: problemContent('the tenant has no such resource'),
      429: problemContent('the tenant made too many requests in the window; see Retry-After'),
      503: problemContent('the database is unavailable'),
      504: problemContent('the query exceeded the statement timeout and was cancelled'),
    },
  })
  const columns = Object.keys(def.row.shape)
  app.openapi(route, async (c) => {
    const query = c.req.valid('query' as never) as z.output<Q> & {
      compare?: 'previous'
      format?: string
      limit?: number
      cursor?: string
    }
    const pathParams = (
      Object.keys(params.shape).length > 0 ? c.req.valid('param' as never) : {}
    ) as z.output<P> & {
      tenantId?: string
    }
    const tenantId =
      variant.tenant === 'path'
        ? (pathParams.tenantId as string)
        : variant.tenant === 'token'
          ? c.get('principal').tenantId
          : null
    const target = {
      resourceType: def.name,
      resourceId: def.resourceId?.(pathParams),
      tenantId,
    }
    // an admin naming a tenant that does not exist gets 404, not an empty list
    const requireTenant = async (trx: Transaction<DB>) => {
      if (variant.tenant === 'path' && !(await tenantExists(trx, tenantId as string)))
        throw notFound(['tenant'])
    }
    const input = (limit: number, cursor: string | undefined) => ({
      tenantId: tenantId ?? '',
      query,
      params: pathParams,
      limit,
      cursor,
    })
    // read first, in the data's transaction: a drain committing in between makes the data only
    // fresher than the watermark says
    const watermark = (trx: Transaction<DB>) =>
      tenantId === null ? Promise.resolve(undefined) : tenantFreshness(trx, tenantId)
    if (!wantsCsv(c, query.format)) {
      const principal = c.get('principal')
      const cache =
        def.cacheable && variant.tenant === 'token' && principal.role === 'member'
          ? context.resultCache
          : undefined
      const cacheKey =
        cache && tenantId !== null
          ? resultCacheKey(tenantId, principal.role, variant.path, { ...query, ...pathParams })
          : undefined
      if (cache && cacheKey && tenantId !== null) {
        const entry = cache.peek(cacheKey, tenantId)
        if (entry) {
          // one round trip: the version says whether the entry still holds, and the watermark is
          // live in every response, hit or miss
          const { freshness, version } = await memberFreshnessAndVersion(context, tenantId)
          if (version === entry.version) {
            context.metrics.resultCacheLookup(def.name, true)
            for (const [name, value] of Object.entries(freshnessHeaders(freshness)))
              c.header(name, value)
            return c.body(cachedBodyText(entry, freshness), 200, {
              'content-type': 'application/json',
            }) as never
          }
        }
        context.metrics.resultCacheLookup(def.name, false)
      }
      const { found, freshness, comparison, version } = await scopedRead(
        c,
        context,
        { ...target, action: 'read' },
        async (trx) => {
          await requireTenant(trx)
          // the version is read in the data's snapshot (repeatable read): it names exactly the
          // data this transaction sees
          const { freshness, version } =
            cacheKey && tenantId !== null
              ? await tenantFreshnessAndVersion(trx, tenantId)
              : { freshness: await watermark(trx), version: undefined }
          const pageInput = input(query.limit ?? DEFAULT_API_PAGE_SIZE, query.cursor)
          const found = await def.read(trx, pageInput)
          if (found === null) throw notFound(idKinds(pathParams))
          const comparison =
            query.compare === 'previous' && def.compare
              ? await def.compare(trx, pageInput, found)
              : undefined
          return { found, freshness, comparison, version }
        },
      )
      for (const [name, value] of Object.entries(freshnessHeaders(freshness))) c.header(name, value)
      const body = {
        data: found.rows,
        ...(def.paginated ? { next_cursor: found.nextCursor ?? null } : {}),
        ...found.extra,
      }
      if (!freshness) return c.json({ ...body, ...(comparison ? { comparison } : {}) }, 200)
      // serialised once, in the order of the JSON schema: the cache keeps the text around
      // `freshness`, which a hit fills in live
      const head = JSON.stringify(body).slice(0, -1)
      const tail = comparison ? `,"comparison":${JSON.stringify(comparison)}` : ''
      if (cache && cacheKey && tenantId !== null && version !== undefined)
        cache.set(cacheKey, { tenantId, version, head, tail })
      return c.body(cachedBodyText({ head, tail }, freshness), 200, {
        'content-type': 'application/json',
      }) as never
    }
    let csvFreshness: TenantFreshness | undefined
    return csvResponse(
      columns,
      def.name,
      context.logger,
      (emit) =>
        scopedRead(c, context, { ...target, action: 'export' }, async (trx) => {
          await requireTenant(trx)
          csvFreshness = await watermark(trx)
          let cursor = query.cursor
          do {
            const found = await def.read(trx, input(EXPORT_PAGE_SIZE, cursor))
            if (found === null) throw notFound(idKinds(pathParams))
            await emit(found.rows as Record<string, unknown>[])
            cursor = def.paginated ? (found.nextCursor ?? undefined) : undefined
          } while (cursor !== undefined)
        }),
      () => freshnessHeaders(csvFreshness),
    ) as never
  })
}

const tenantIdParam = z
  .string()
  .min(1)
  .max(200)
  .openapi({ description: 'the tenant to read (admins only)' })

/**
 * A tenant read, twice: at /v1<path> for the token's own tenant (member or admin), and at
 * /v1/admin/tenants/{tenantId}<path> for any tenant (admin only, audited).
 */
export function registerTenantRead<Q extends AnyObject, P extends AnyObject>(
  app: OpenAPIHono<AppEnv>,
  context: AppContext,
  def: ReadDefinition<Q, P>,
): void {
  const name = pascal(def.name)
  register(app, context, def, {
    path: `/v1${def.path}`,
    operationId: `get${name}`,
    tags: [def.tag],
    roles: ['member', 'admin'],
    tenant: 'token',
  })
  register(app, context, def, {
    path: `/v1/admin/tenants/{tenantId}${def.path}`,
    operationId: `getTenant${name}`,
    tags: ['admin'],
    roles: ['admin'],
    tenant: 'path',
  })
}

/** A read of the platform's admin tables at /v1/admin<path>: admins only, audited. */
export function registerAdminRead<Q extends AnyObject, P extends AnyObject>(
  app: OpenAPIHono<AppEnv>,
  context: AppContext,
  def: ReadDefinition<Q, P>,
): void {
  register(app, context, def, {
    path: `/v1/admin${def.path}`,
    operationId: `get${pascal(def.name)}`,
    tags: ['admin'],
    roles: ['admin'],
    tenant: 'none',
  })
}
