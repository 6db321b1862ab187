import type { MiddlewareHandler } from 'hono'
import type { Redis } from 'ioredis'
import type { AppEnv } from './app-env.js'
import { describeError, type Logger } from './logger.js'
import { ProblemError, problem } from './problem.js'

export interface RateLimitDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** seconds until the window ends */
  resetSeconds: number
}

export interface RateLimiter {
  /** counts one request for `key`; null when the store cannot answer (the request then passes) */
  hit(key: string): Promise<RateLimitDecision | null>
}

// A fixed window per key, counted in Redis so that every API instance shares it. The window is
// taken from Redis's clock, not each instance's, so instances agree on where it starts.
const HIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local key = KEYS[1] .. ':' .. math.floor(now / window)
local n = redis.call('INCR', key)
if n == 1 then redis.call('PEXPIRE', key, window) end
return {n, window - (now % window)}
`

export interface RateLimitOptions {
  /** requests per window per key */
  limit: number
  windowSeconds: number
  /** prefix of every Redis key, e.g. penguinmails:api: */
  prefix: string
}

export function createRedisRateLimiter(
  redis: Redis,
  options: RateLimitOptions,
  logger: Logger,
): RateLimiter {
  return {
    async hit(key) {
      try {
        const [count, msLeft] = (await redis.eval(
          HIT,
          1,
          `${options.prefix}ratelimit:${key}`,
          String(options.windowSeconds * 1000),
        )) as [number, number]
        return {
          allowed: count <= options.limit,
          limit: options.limit,
          remaining: Math.max(0, options.limit - count),
          resetSeconds: Math.max(1, Math.ceil(msLeft / 1000)),
        }
      } catch (error) {
        // a read API stays up without its limiter; the warning says why limits are off
        logger.warn('rate limiter unavailable; request let through', describeError(error))
        return null
      }
    },
  }
}

/** Limits requests per tenant (the token's); answers 429 problem+json with Retry-After past it. */
export function rateLimit(limiter: RateLimiter | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!limiter) return next()
    const decision = await limiter.hit(`tenant:${c.get('principal').tenantId}`)
    if (!decision) return next()
    const headers = {
      'ratelimit-limit': String(decision.limit),
      'ratelimit-remaining': String(decision.remaining),
      'ratelimit-reset': String(decision.resetSeconds),
    }
    if (!decision.allowed)
      throw new ProblemError(
        problem(
          'tooManyRequests',
          `This tenant may make ${decision.limit} requests per window; retry in ${decision.resetSeconds} s.`,
        ),
        { ...headers, 'retry-after': String(decision.resetSeconds) },
      )
    await next()
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value)
  }
}
