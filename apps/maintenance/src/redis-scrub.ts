import { Redis } from 'ioredis'
import { MaintenanceError } from './report.js'

/**
 * What an erasure removed from Redis (the worker's BullMQ keys under its queue prefix, the API's
 * keys under its prefix). Counts only: the identifiers themselves are never reported.
 */
export interface RedisScrubResult {
  /** keys under the prefixes looked at */
  keysScanned: number
  /** jobs (hash, logs, lock, and their id in the queue's lists and sorted sets) removed */
  jobsRemoved: number
  /** whole keys deleted: a name or a string value holding an identifier */
  keysDeleted: number
  /** hash fields, list elements, set and sorted-set members, stream entries removed */
  valuesRemoved: number
  /** jobs holding an identifier that a worker is running now: left alone, see `scrubRedis` */
  activeJobs: number
}

// A character that may continue an id or an address: a match must not have one on either side,
// so that erasing "t1" leaves the jobs of "t10" alone.
const WORD = 'A-Za-z0-9_.@+\\-'

/** A test for "contains one of the identifiers, as a whole token". */
export function identifierMatcher(identifiers: readonly string[]): (text: string) => boolean {
  const wanted = [...new Set(identifiers.filter((i) => i !== ''))].sort(
    (a, b) => b.length - a.length,
  )
  const patterns: RegExp[] = []
  // a few hundred alternatives per expression keep each one small
  for (let i = 0; i < wanted.length; i += 500) {
    const alternatives = wanted
      .slice(i, i + 500)
      .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|')
    patterns.push(new RegExp(`(?<![${WORD}])(?:${alternatives})(?![${WORD}])`))
  }
  return (text) => patterns.some((p) => p.test(text))
}

/** A SCAN pattern matching exactly the keys that start with `prefix` (glob characters escaped). */
function keyPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
}

async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keyPattern(prefix), 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

const JOB_LISTS = ['wait', 'paused', 'active']
const JOB_SETS = ['completed', 'failed', 'delayed', 'prioritized', 'waiting-children']

/**
 * Removes every trace of the erased identifiers from the worker's BullMQ keys (`<prefix>:*`):
 * SCAN (never KEYS) over the prefix, then, key by key,
 *  - a job hash (fields name, data, timestamp) whose name, data, return value, failure or any
 *    other field holds an identifier: the whole job goes (hash, logs, lock, its deduplication key
 *    when that still points to it, and its id in the queue's wait, paused, completed, failed,
 *    delayed, prioritized and waiting-children sets) in one MULTI, as BullMQ's own removal does;
 *  - any other key whose name holds one (deduplication keys `de:<id>` are named after the
 *    tenant), or a string value holding one: deleted;
 *  - a hash, list, set, sorted set or stream: the fields, elements, members or entries holding one
 *    are removed, the rest of the key stays.
 * A job a worker is running (in the `active` list) is left alone and counted in `activeJobs`: its
 * worker would recreate it on completion. With `apiPrefix`, the API's keys (`<apiPrefix>*`: its rate
 * limiter's counters, named `ratelimit:tenant:<tenant id>:<window>`) are scanned too and treated
 * as any other non-job key. Redis is not part of the erasure's transaction; this runs after the
 * commit, and a second `anonymize` run scrubs again.
 */
export async function scrubRedis(options: {
  url: string
  prefix: string
  /** the API's key prefix (REDIS_KEY_PREFIX of apps/api): its keys are scrubbed too */
  apiPrefix?: string
  identifiers: readonly string[]
  dryRun: boolean
}): Promise<RedisScrubResult> {
  const result: RedisScrubResult = {
    keysScanned: 0,
    jobsRemoved: 0,
    keysDeleted: 0,
    valuesRemoved: 0,
    activeJobs: 0,
  }
  const matches = identifierMatcher(options.identifiers)
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectionName: 'penguinmails-maintenance',
    // fail fast: the erasure is committed already, and a rerun scrubs again
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw new MaintenanceError(
      `cannot connect to REDIS_URL to scrub the erased identifiers from the worker's jobs: ${(error as Error).message}. The database erasure is committed; run the same anonymize command again once Redis is reachable (or unset REDIS_URL to skip Redis)`,
      { cause: error },
    )
  }
  try {
    const base = `${options.prefix}:`
    const keys = await scanKeys(redis, base)
    // the API's keys (its rate limiter's, `<apiPrefix>ratelimit:tenant:<tenant id>:<window>`):
    // plain keys, never jobs; one that is also under the worker's prefix was scanned above
    if (options.apiPrefix !== undefined) {
      keys.push(...(await scanKeys(redis, options.apiPrefix)).filter((k) => !k.startsWith(base)))
    }
    result.keysScanned = keys.length
    for (const key of keys) {
      const type = await redis.type(key)
      if (type === 'none') continue // removed with a job already
      if (type === 'hash') {
        const fields = await redis.hgetall(key)
        const job = 'name' in fields && 'data' in fields && 'timestamp' in fields
        const hit =
          matches(key) || Object.entries(fields).some(([f, v]) => matches(f) || matches(v))
        if (job && hit && key.startsWith(base)) {
          const rest = key.slice(base.length)
          const queue = rest.slice(0, rest.indexOf(':'))
          const jobId = rest.slice(rest.indexOf(':') + 1)
          const queueKey = `${base}${queue}`
          if ((await redis.lpos(`${queueKey}:active`, jobId)) !== null) {
            result.activeJobs++
            continue
          }
          result.jobsRemoved++
          if (options.dryRun) continue
          const multi = redis.multi()
          multi.del(key, `${key}:logs`, `${key}:lock`, `${key}:dependencies`, `${key}:processed`)
          // its deduplication key, if it still points to it: left alone, it would swallow every
          // later job with the same deduplication id
          const dedup = fields.deid ? `${queueKey}:de:${fields.deid}` : undefined
          if (dedup && (await redis.get(dedup)) === jobId) multi.del(dedup)
          for (const list of JOB_LISTS) multi.lrem(`${queueKey}:${list}`, 0, jobId)
          for (const set of JOB_SETS) multi.zrem(`${queueKey}:${set}`, jobId)
          await multi.exec()
          continue
        }
        if (matches(key)) {
          await deleteKey(redis, key, options.dryRun, result)
          continue
        }
        const gone = Object.entries(fields)
          .filter(([f, v]) => matches(f) || matches(v))
          .map(([f]) => f)
        result.valuesRemoved += gone.length
        if (gone.length > 0 && !options.dryRun) await redis.hdel(key, ...gone)
        continue
      }
      if (matches(key)) {
        await deleteKey(redis, key, options.dryRun, result)
        continue
      }
      switch (type) {
        case 'string': {
          const value = await redis.get(key)
          if (value !== null && matches(value)) await deleteKey(redis, key, options.dryRun, result)
          break
        }
        case 'list': {
          const gone = [...new Set((await redis.lrange(key, 0, -1)).filter(matches))]
          for (const value of gone) {
            result.valuesRemoved += options.dryRun ? 1 : await redis.lrem(key, 0, value)
          }
          break
        }
        case 'set': {
          const gone = (await redis.smembers(key)).filter(matches)
          result.valuesRemoved += gone.length
          if (gone.length > 0 && !options.dryRun) await redis.srem(key, ...gone)
          break
        }
        case 'zset': {
          const gone = (await redis.zrange(key, '0', '-1')).filter(matches)
          result.valuesRemoved += gone.length
          if (gone.length > 0 && !options.dryRun) await redis.zrem(key, ...gone)
          break
        }
        case 'stream': {
          let start = '-'
          for (;;) {
            const entries = await redis.xrange(key, start, '+', 'COUNT', 1000)
            const gone = entries
              .filter(([, fields]) => fields.some((f) => matches(f)))
              .map(([id]) => id)
            result.valuesRemoved += gone.length
            if (gone.length > 0 && !options.dryRun) await redis.xdel(key, ...gone)
            if (entries.length < 1000) break
            start = `(${entries[entries.length - 1]?.[0]}`
          }
          break
        }
        default:
          // ReJSON and other module types are not used by BullMQ: named only by their key
          break
      }
    }
    return result
  } finally {
    redis.disconnect()
  }
}

async function deleteKey(
  redis: Redis,
  key: string,
  dryRun: boolean,
  result: RedisScrubResult,
): Promise<void> {
  result.keysDeleted++
  if (!dryRun) await redis.del(key)
}
