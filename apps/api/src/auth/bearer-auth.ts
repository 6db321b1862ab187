import type { MiddlewareHandler } from 'hono'
import { verify } from 'hono/jwt'
import { z } from 'zod'
import type { AppEnv } from '../app-env.js'
import type { ApiConfig } from '../context.js'
import { ProblemError, problem } from '../problem.js'
import { ROLE_CLAIMS, type RoleClaim } from './principal.js'
import { TokenCache, type VerifiedClaims } from './token-cache.js'

// the algorithm is pinned: a token naming another one (none, HS512, RS256…) is refused before
// its signature is even looked at
const ALGORITHM = 'HS256'

const Claims = z.object({
  sub: z.string().min(1).max(200),
  tenant_id: z.string().min(1).max(200),
  role: z.enum(ROLE_CLAIMS),
  exp: z.number().finite(),
})

const CHALLENGE = 'Bearer realm="penguinmails-analytics"'

function unauthorized(detail: string, invalidToken: boolean): ProblemError {
  return new ProblemError(problem('unauthorized', detail), {
    'www-authenticate': invalidToken ? `${CHALLENGE}, error="invalid_token"` : CHALLENGE,
  })
}

// one cache per configuration (secret, issuer, audience), shared by every route's middleware
const tokenCaches = new WeakMap<ApiConfig, TokenCache>()

function tokenCache(config: ApiConfig): TokenCache {
  let cache = tokenCaches.get(config)
  if (!cache) {
    cache = new TokenCache()
    tokenCaches.set(config, cache)
  }
  return cache
}

async function verifiedClaims(token: string, config: ApiConfig): Promise<VerifiedClaims> {
  const cache = tokenCache(config)
  const cached = cache.get(token)
  if (cached) return cached
  let payload: unknown
  try {
    payload = await verify(token, config.jwtSecret, {
      alg: ALGORITHM,
      ...(config.jwtIssuer ? { iss: config.jwtIssuer } : {}),
      ...(config.jwtAudience ? { aud: config.jwtAudience } : {}),
    })
  } catch {
    // expired, not yet valid, wrong algorithm, bad signature, malformed: one answer for all,
    // so that the response teaches nothing about which check failed
    throw unauthorized('The token is invalid or expired.', true)
  }
  const claims = Claims.safeParse(payload)
  if (!claims.success)
    throw unauthorized('The token lacks a required claim: sub, tenant_id, role or exp.', true)
  const { sub, tenant_id, role, exp } = claims.data
  const verified = { sub, tenant_id, role, exp }
  cache.set(token, verified)
  return verified
}

/**
 * Requires a valid bearer token (HS256, signed with JWT_SECRET, with sub, tenant_id, role and exp;
 * exp and nbf enforced, iss and aud when configured) whose role is one of `roles`. A token verified
 * once is remembered until its exp (TokenCache); the role is checked on every request.
 */
export function bearerAuth(
  config: ApiConfig,
  roles: readonly RoleClaim[],
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization')
    if (!header) throw unauthorized('Send an Authorization: Bearer <token> header.', false)
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header)
    if (!match) throw unauthorized('The Authorization header is not a bearer token.', true)
    const { sub, tenant_id, role } = await verifiedClaims(match[1] as string, config)
    if (!roles.includes(role))
      throw new ProblemError(
        problem('forbidden', `This route requires the ${roles.join(' or ')} role.`),
      )
    c.set('principal', { subject: sub, tenantId: tenant_id, role })
    await next()
  }
}
