import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppProcess } from './support/app-process.js'
import { runOrThrow } from './support/run.js'
import { REPO_ROOT } from './support/workspace.js'

// Each app's build also writes bundle/ (scripts/bundle-app.mjs): dist/ with every dependency
// inlined, the schema's sql/, and a package.json naming only what stays external (PGlite,
// swagger-ui's files). Copied out of the workspace and given those alone, it must run.

let scratch: string
let database: TestDatabase

async function installBundle(app: string): Promise<string> {
  const dir = join(scratch, app)
  cpSync(join(REPO_ROOT, 'apps', app, 'bundle'), dir, { recursive: true })
  await runOrThrow(
    'npm',
    [
      'install',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--prefer-offline',
    ],
    { cwd: dir, timeoutMs: 280_000 },
  )
  return dir
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pm-bundle-'))
  database = await createTestDatabase({ label: 'bundle' })
})

afterAll(async () => {
  await database?.drop()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

describe('bundled apps', () => {
  it('the API bundle migrates an embedded database from its sql/, serves /readyz and /docs', async () => {
    const dir = await installBundle('api')
    // the externals (with their own dependencies); everything else is inside dist/
    const installed = readdirSync(join(dir, 'node_modules'))
    expect(installed).toEqual(expect.arrayContaining(['@electric-sql', 'swagger-ui-dist']))
    for (const inlined of ['pg', 'kysely', 'hono', 'zod', 'ioredis', '@penguinmails'])
      expect(installed, inlined).not.toContain(inlined)
    const app = new AppProcess(dir, {
      PM_DATA_DIR: 'memory://',
      JWT_SECRET: randomBytes(32).toString('hex'),
      HOST: '127.0.0.1',
      PORT: '0',
    })
    try {
      const [, port] = await app.waitFor(/"address":"127\.0\.0\.1:(\d+)"/, 60_000)
      expect(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).toEqual({
        status: 'ready',
      })
      const css = await fetch(`http://127.0.0.1:${port}/docs/swagger-ui.css`)
      expect(css.status).toBe(200)
      app.stop()
      expect(await app.exited).toBe(0)
    } finally {
      app.stop('SIGKILL')
    }
  })

  it('the worker bundle starts on PostgreSQL and Redis, reports healthy and stops on SIGTERM', async () => {
    const dir = await installBundle('worker')
    const prefix = `{pm-bundle-${randomBytes(4).toString('hex')}}`
    const app = new AppProcess(dir, {
      DATABASE_URL: database.url(ROLES.writer),
      REDIS_URL: 'redis://127.0.0.1:6379',
      WORKER_QUEUE_PREFIX: prefix,
      WORKER_HEALTH_HOST: '127.0.0.1',
      WORKER_HEALTH_PORT: '0',
    })
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true })
    try {
      const [, port] = await app.waitFor(/"healthPort":(\d+)[^\n]*"msg":"worker started"/)
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
      app.stop()
      expect(await app.exited).toBe(0)
    } finally {
      app.stop('SIGKILL')
      await redis.connect()
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      await redis.quit()
    }
  })

  it('the maintenance bundle runs a command', async () => {
    const dir = await installBundle('maintenance')
    const refresh = new AppProcess(dir, { DATABASE_URL: database.url(ROLES.writer) }, [
      'refresh',
      '--json',
    ])
    expect(await refresh.exited, refresh.output).toBe(0)
    expect(JSON.parse(refresh.output.trim().split('\n').pop() ?? '{}')).toMatchObject({
      command: 'refresh',
      exitCode: 0,
    })
  })
})
