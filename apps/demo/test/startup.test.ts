import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ENTRY = fileURLToPath(new URL('../dist/index.js', import.meta.url))
/** The shared Redis of the test machine; the demo's queues there get a prefix of their own. */
const REDIS_URL = 'redis://127.0.0.1:6379'

let folder: string
let queuePrefix: string | undefined

beforeAll(() => {
  if (!existsSync(ENTRY))
    throw new Error(`${ENTRY} is missing: build the demo first (npx tsc -p tsconfig.build.json)`)
  folder = mkdtempSync(join(tmpdir(), 'pm-demo-'))
})

afterAll(async () => {
  if (folder) rmSync(folder, { recursive: true, force: true })
  if (queuePrefix) {
    const redis = new Redis(REDIS_URL)
    try {
      const keys = await redis.keys(`${queuePrefix}*`)
      if (keys.length > 0) await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
  }
})

interface Run {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** `pnpm start` as a newcomer runs it: no DATABASE_URL, no REDIS_URL, only the data folder. */
function start(env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? folder,
      PM_DATA_DIR: join(folder, 'pglite'),
      PORT: '0',
      DEMO_EMAILS: '3000',
      DEMO_STREAM_INTERVAL_MS: '500',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

async function waitFor(run: Run, pattern: RegExp, ms = 150_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms
  for (;;) {
    const match = run.output().match(pattern)
    if (match) return match
    if (run.child.exitCode !== null)
      throw new Error(`exited (${run.child.exitCode}) before ${pattern}:\n${run.output()}`)
    if (Date.now() > deadline) throw new Error(`no ${pattern} after ${ms} ms:\n${run.output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function ready(run: Run) {
  const [, url] = await waitFor(run, /dashboard +(http:\/\/\S+\/)\n/)
  const [, member] = await waitFor(run, /member token +(\S+)\n/)
  const [, admin] = await waitFor(run, /admin token +(\S+)\n/)
  return { url: url as string, member: member as string, admin: admin as string }
}

async function campaignSends(url: string, token: string): Promise<number> {
  const from = new Date(Date.now() - 100 * 86_400_000).toISOString().slice(0, 10)
  const to = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)
  const get = () =>
    fetch(`${url}v1/usage?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${token}` } })
  // one retry of this GET when a kept-alive socket was reset: the server closes idle sockets after
  // 5 s, and when its event loop is busy (PGlite runs in the same process) that close can cross a
  // request sent on the socket; browsers retry the same way. A crashed demo still fails (refused).
  const response = await get().catch((error: { cause?: { code?: string } }) => {
    if (error.cause?.code !== 'ECONNRESET') throw error
    return get()
  })
  expect(response.status, await response.clone().text()).toBe(200)
  const body = (await response.json()) as { data: { emails_sent: number }[] }
  return body.data.reduce((sum, row) => sum + row.emails_sent, 0)
}

/** Waits until the API reports more campaign emails sent than `before`: the analytics moved. */
async function waitForMoreSends(url: string, token: string, before: number): Promise<void> {
  const deadline = Date.now() + 60_000
  let now = before
  while (now <= before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000))
    now = await campaignSends(url, token)
  }
  expect(now).toBeGreaterThan(before)
}

async function stop(run: Run): Promise<number | null> {
  run.child.kill('SIGINT')
  return run.exited
}

describe('pnpm start on embedded PGlite', () => {
  it('generates, keeps analytics fresh in-process, stops on Ctrl-C, then reuses the data with the worker', async () => {
    const first = start()
    let firstTokens: Awaited<ReturnType<typeof ready>>
    try {
      firstTokens = await ready(first)
      expect(first.output()).toMatch(/database: embedded PGlite in .*pglite/)
      expect(first.output()).toMatch(/demo data: generated 3,000 emails/)
      expect(first.output()).toMatch(/analytics: recomputed \d+ tenants/)
      expect(first.output()).toMatch(/in-process aggregation loop/)

      const health = await fetch(`${firstTokens.url}healthz`)
      expect(await health.json()).toEqual({ status: 'ok' })
      const page = await fetch(firstTokens.url)
      expect(page.headers.get('content-type')).toMatch(/text\/html/)
      expect(await page.text()).toMatch(/PenguinMails/)

      // the simulated stream sends new campaign emails, and the in-process loop aggregates them
      const before = await campaignSends(firstTokens.url, firstTokens.member).catch((error) => {
        throw new Error(`${error} (demo exit code ${first.child.exitCode}):\n${first.output()}`)
      })
      expect(before).toBeGreaterThan(0)
      await waitForMoreSends(firstTokens.url, firstTokens.member, before)

      expect(await stop(first)).toBe(0)
      expect(first.output()).toMatch(/SIGINT: stopping/)
      expect(first.output()).toMatch(/stopped\n$/)
    } finally {
      first.child.kill('SIGKILL')
    }

    // the second start also brings Redis: the BullMQ worker keeps analytics fresh instead
    const second = start({ REDIS_URL })
    try {
      const tokens = await ready(second)
      expect(second.output()).toMatch(/demo data: reusing the \d+ tenants/)
      expect(second.output()).not.toMatch(/generating|generated/)
      const [, prefix] = await waitFor(
        second,
        /BullMQ worker on \S+ \(queues (\{pm-demo-[0-9a-f]+\})\)/,
      )
      queuePrefix = prefix
      // the signing key was kept beside the data: the first run's token still works
      const before = await campaignSends(tokens.url, firstTokens.member)
      expect(before).toBeGreaterThan(0)
      await waitForMoreSends(tokens.url, tokens.member, before)
      const admin = await fetch(
        `${tokens.url}v1/admin/system-events?from=2020-01-01&to=2020-12-31`,
        {
          headers: { authorization: `Bearer ${tokens.admin}` },
        },
      )
      expect(admin.status).toBe(200)
      expect(await stop(second)).toBe(0)
      expect(second.output()).toMatch(/stopped\n$/)
    } finally {
      second.child.kill('SIGKILL')
    }
  })
})
