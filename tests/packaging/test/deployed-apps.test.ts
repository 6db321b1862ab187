import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppProcess } from './support/app-process.js'
import { runOrThrow } from './support/run.js'
import { REPO_ROOT } from './support/workspace.js'

// `pnpm deploy --prod` gives each app a folder of its own: its dist/, its package.json and only
// its production dependencies (the workspace packages copied in as real files). That folder is
// what the Dockerfiles ship; here it runs outside the workspace.

let scratch: string
let database: TestDatabase

async function deploy(name: string): Promise<string> {
  const dir = join(scratch, name)
  await runOrThrow(
    'pnpm',
    ['--filter', `@penguinmails/${name}`, '--prod', 'deploy', '--legacy', dir],
    {
      cwd: REPO_ROOT,
    },
  )
  return dir
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pm-deploy-'))
  database = await createTestDatabase({ label: 'deploy' })
})

afterAll(async () => {
  await database?.drop()
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

/** `commands`: an app's `bin/` entry points, committed (they load dist/, see apps/worker/bin) */
function expectProductionOnly(dir: string, commands = false): void {
  expect(readdirSync(dir).sort()).toEqual([
    'README.md',
    ...(commands ? ['bin'] : []),
    'dist',
    'node_modules',
    'package.json',
  ])
  for (const dev of ['vitest', 'typescript', '@types/node'])
    expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false)
}

describe('deployed apps', () => {
  it('the API installs alone, answers /healthz and /readyz, and stops on SIGTERM', async () => {
    const dir = await deploy('api')
    expectProductionOnly(dir)
    const app = new AppProcess(dir, {
      DATABASE_URL: database.url(ROLES.admin),
      JWT_SECRET: randomBytes(32).toString('hex'),
      HOST: '127.0.0.1',
      PORT: '0',
    })
    try {
      const [, port] = await app.waitFor(/"address":"127\.0\.0\.1:(\d+)"/)
      const health = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(health.status).toBe(200)
      expect(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).toEqual({
        status: 'ready',
      })
      app.stop()
      expect(await app.exited).toBe(0)
    } finally {
      app.stop('SIGKILL')
    }
  })

  it('the worker installs alone, passes its preflight, reports healthy and stops on SIGTERM', async () => {
    const dir = await deploy('worker')
    expectProductionOnly(dir, true)
    const aggregate = new AppProcess(dir, {}, ['--help'], 'bin/penguinmails-aggregate.js')
    expect(await aggregate.exited, aggregate.output).toBe(0)
    expect(aggregate.output).toMatch(/^usage: pnpm aggregate/)
    const prefix = `{pm-deploy-${randomBytes(4).toString('hex')}}`
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
      const health = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(health.status).toBe(200)
      app.stop()
      expect(await app.exited).toBe(0)
      expect(app.output).toContain('worker stopped')
    } finally {
      app.stop('SIGKILL')
      await redis.connect()
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      await redis.quit()
    }
  })

  it('the maintenance runner installs alone and runs a command', async () => {
    const dir = await deploy('maintenance')
    expectProductionOnly(dir, true)
    const help = new AppProcess(dir, {}, ['--help'], 'bin/penguinmails-maintenance.js')
    expect(await help.exited).toBe(0)
    expect(help.output).toMatch(/^usage: /)
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
  it('the demo installs alone and serves the dashboard and the API on its embedded database', async () => {
    const dir = await deploy('demo')
    expectProductionOnly(dir)
    const app = new AppProcess(dir, {
      HOME: scratch,
      PM_DATA_DIR: 'memory://',
      HOST: '127.0.0.1',
      PORT: '0',
      DEMO_EMAILS: '1000',
      DEMO_STREAM_INTERVAL_MS: '0',
    })
    try {
      const [, url] = await app.waitFor(/dashboard +(http:\/\/\S+\/)\n/, 120_000)
      const [, token] = await app.waitFor(/member token +(\S+)\n/)
      const page = await fetch(url as string)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/text\/html/)
      const usage = await fetch(`${url}v1/usage?from=2020-01-01&to=2021-01-01`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(usage.status).toBe(200)
      app.stop('SIGINT')
      expect(await app.exited).toBe(0)
    } finally {
      app.stop('SIGKILL')
    }
  })
})
