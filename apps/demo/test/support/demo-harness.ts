import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { sign } from 'hono/jwt'
import { type RunningDemo, startDemo } from '../../src/demo.js'
import { createTerminal } from '../../src/terminal.js'

export const JWT_SECRET = 'demo-test-secret-of-at-least-32-characters'

export interface DemoHarness {
  demo: RunningDemo
  database: TestDatabase
  /** what the demo printed */
  output: () => string
  /** a token of another identity (the dashboard's own reads are audited under demo-admin) */
  token(claims: { sub: string; tenant_id: string; role: 'member' | 'admin' }): Promise<string>
  /** GET on the demo's API; throws on a non-2xx answer */
  get<T = Record<string, unknown>>(
    path: string,
    params: Record<string, string | number | undefined>,
    token: string,
  ): Promise<T>
  /** every row of a keyset-paginated list */
  getAll(
    path: string,
    params: Record<string, string | number | undefined>,
    token: string,
  ): Promise<Record<string, unknown>[]>
  close(): Promise<void>
}

/** The demo, in process, on a fresh PostgreSQL test database with generated data, no stream. */
export async function openDemoHarness(options: {
  label: string
  emails: number
}): Promise<DemoHarness> {
  const database = await createTestDatabase({ label: options.label })
  let printed = ''
  const terminal = createTerminal({
    write: (chunk: string) => {
      printed += chunk
      return true
    },
  } as unknown as NodeJS.WritableStream)
  let demo: RunningDemo
  try {
    demo = await startDemo(
      {
        databaseUrl: database.url(),
        dataDir: 'memory://',
        redisUrl: undefined,
        host: '127.0.0.1',
        port: 0,
        demoEmails: options.emails,
        demoSeed: 7,
        streamIntervalMs: 0,
        jwtSecret: JWT_SECRET,
      },
      terminal,
    )
  } catch (error) {
    await database.drop()
    throw new Error(`the demo did not start:\n${printed}`, { cause: error })
  }
  const get = async <T>(
    path: string,
    params: Record<string, string | number | undefined>,
    token: string,
  ): Promise<T> => {
    const url = new URL(path, demo.url)
    for (const [k, v] of Object.entries(params))
      if (v !== undefined) url.searchParams.set(k, String(v))
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`)
    return (await response.json()) as T
  }
  return {
    demo,
    database,
    output: () => printed,
    token: (claims) =>
      sign({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 }, JWT_SECRET, 'HS256'),
    get,
    async getAll(path, params, token) {
      const rows: Record<string, unknown>[] = []
      let cursor: string | undefined
      do {
        const body = await get<{ data: Record<string, unknown>[]; next_cursor: string | null }>(
          path,
          { ...params, limit: 100, cursor },
          token,
        )
        rows.push(...body.data)
        cursor = body.next_cursor ?? undefined
      } while (cursor)
      return rows
    },
    async close() {
      await demo.stop()
      await database.drop()
    },
  }
}
