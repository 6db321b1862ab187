import { execFile } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js'

const run = promisify(execFile)
const packageDir = fileURLToPath(new URL('..', import.meta.url))
let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ label: 'codegen' })
})

afterAll(async () => {
  await database?.drop()
})

it('the committed src/database-types.ts is what kysely-codegen makes of the migrated schema', async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'pm-codegen-')), 'database-types.ts')
  await run(
    process.execPath,
    [
      join(packageDir, 'node_modules/kysely-codegen/dist/cli/bin.js'),
      '--config-file',
      join(packageDir, '.kysely-codegenrc.json'),
      '--url',
      database.url(),
      '--out-file',
      out,
    ],
    { cwd: packageDir },
  )
  const generated = await readFile(out, 'utf8')
  const committed = await readFile(join(packageDir, 'src/database-types.ts'), 'utf8')
  expect(generated).toContain('export interface DB {')
  expect(committed, 'types drifted from the migrations: run `pnpm db:codegen` and commit').toBe(
    generated,
  )
})
