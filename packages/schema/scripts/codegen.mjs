// Regenerates src/database-types.ts from a freshly migrated throwaway database (needs the build).
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createTestDatabase } from '../dist/testing/index.js'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const database = await createTestDatabase({ label: 'codegen' })
try {
  execFileSync(
    process.execPath,
    [
      'node_modules/kysely-codegen/dist/cli/bin.js',
      '--config-file',
      '.kysely-codegenrc.json',
      '--url',
      database.url(),
    ],
    { cwd: packageDir, stdio: 'inherit' },
  )
} finally {
  await database.drop()
}
