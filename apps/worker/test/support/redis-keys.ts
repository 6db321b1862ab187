import type { Redis } from 'ioredis'

/** Every key under the prefix (SCAN, never KEYS). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

/** Deletes the test's own keys from the shared Redis (never FLUSHALL there). */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix)
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
}

/** Every value stored under the prefix, whatever the key's type, as text. */
export async function valuesUnder(redis: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key)
    let value: unknown
    if (type === 'string') value = await redis.get(key)
    else if (type === 'hash') value = await redis.hgetall(key)
    else if (type === 'list') value = await redis.lrange(key, 0, -1)
    else if (type === 'set') value = await redis.smembers(key)
    else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES')
    else if (type === 'stream') value = await redis.xrange(key, '-', '+')
    else value = `(${type})`
    out.set(key, JSON.stringify(value))
  }
  return out
}
