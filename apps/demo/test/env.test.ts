import { describe, expect, it } from 'vitest'
import { DEFAULT_DEMO_EMAILS, DemoEnvError, readDemoEnv } from '../src/env.js'

describe('the demo configuration', () => {
  it('defaults to the embedded database on localhost:3000 without Redis', () => {
    expect(readDemoEnv({})).toEqual({
      databaseUrl: undefined,
      dataDir: '.data/pglite',
      redisUrl: undefined,
      host: '127.0.0.1',
      port: 3000,
      demoEmails: DEFAULT_DEMO_EMAILS,
      demoSeed: 42,
      streamIntervalMs: 2000,
      jwtSecret: undefined,
    })
  })

  it('reads sizes as people write them and treats empty variables as unset', () => {
    const env = readDemoEnv({ DEMO_EMAILS: '100k', PORT: '0', REDIS_URL: '', DATABASE_URL: '' })
    expect(env.demoEmails).toBe(100_000)
    expect(env.port).toBe(0)
    expect(env.redisUrl).toBeUndefined()
    expect(readDemoEnv({ DEMO_EMAILS: '1_000_000' }).demoEmails).toBe(1_000_000)
  })

  it('names every invalid variable at once', () => {
    let error: unknown
    try {
      readDemoEnv({
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'localhost:6379',
        PORT: '70000',
        DEMO_EMAILS: 'many',
        JWT_SECRET: 'short',
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DemoEnvError)
    const problems = (error as DemoEnvError).problems
    expect(problems).toHaveLength(5)
    expect(problems.join('\n')).toMatch(/DATABASE_URL must be a postgres/)
    expect(problems.join('\n')).toMatch(/REDIS_URL must be a redis/)
    expect(problems.join('\n')).toMatch(/PORT must be between 0 and 65535/)
    expect(problems.join('\n')).toMatch(/DEMO_EMAILS must be a whole number, got "many"/)
    expect(problems.join('\n')).toMatch(/JWT_SECRET must be at least 32 characters/)
  })
})
