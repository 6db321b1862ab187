import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ROLES } from '@penguinmails/schema'
import { createTestDatabase, type TestDatabase } from '@penguinmails/schema/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { count } from './support/query.js'

const run = promisify(execFile)
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'gen_cli' })
})

afterAll(async () => {
  await database?.drop()
})

function generate(args: string[], env: Record<string, string>) {
  const { DATABASE_URL: _ignored, ...rest } = process.env
  return run(process.execPath, [cli, ...args], { env: { ...rest, ...env } })
}

describe('penguinmails-generate', () => {
  it('fills PostgreSQL from DATABASE_URL with COPY as the writer, printing each table', async () => {
    const { stdout } = await generate(
      ['--emails', '60_000', '--days', '20', '--seed', '9', '--end', '2024-08-31', '--edge-cases'],
      { DATABASE_URL: database.url(ROLES.writer) },
    )
    expect(stdout).toContain('generating into PostgreSQL at postgres://pm_writer@')
    expect(stdout).toMatch(/emails\s+[1-9]0%/)
    expect(stdout).toMatch(/emails\s+60,069 rows/)
    expect(stdout).toMatch(
      /done in [\d.]+ s with COPY: seed 9, 20 days ending 2024-09-01T00:00:00\.000Z/,
    )
    expect(await count(database.connect().db, 'select count(*) as n from emails')).toBe(60_069)
  })

  it('appends live activity with --append', async () => {
    const { stdout } = await generate(['--append', '30', '--seed', '2'], {
      DATABASE_URL: database.url(ROLES.writer),
    })
    expect(stdout).toMatch(/^added \d+ emails \(\d+ new leads\) and \d+ events to PostgreSQL at/)
  })

  it('fails loudly on a bad option and on a database without the tables', async () => {
    await expect(
      generate(['--emails', 'many'], { DATABASE_URL: database.url() }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--emails takes a whole number (got "many")'),
    })
    const bare = await createTestDatabase({ label: 'gen_cli_bare', migrated: false })
    try {
      await expect(generate([], { DATABASE_URL: bare.url() })).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('has no source tables: run `pnpm db:migrate` first'),
      })
    } finally {
      await bare.drop()
    }
  })
})
