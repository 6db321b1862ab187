import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The DDL is plain SQL in the repository's top-level sql/; the published package carries a copy.
const CANDIDATES = [
  new URL('../sql/', import.meta.url), // the package's copy, made by the build
  new URL('../../../sql/', import.meta.url), // the workspace's sql/
]

export function sqlDirectory(): string {
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(candidate)
    if (existsSync(`${path}migrations`)) return path
  }
  throw new Error(
    `@penguinmails/schema: no sql/ folder found (looked in ${CANDIDATES.map((c) => fileURLToPath(c)).join(', ')}); reinstall the package or run its build`,
  )
}

export function readSqlFile(relativePath: string): string {
  return readFileSync(`${sqlDirectory()}${relativePath}`, 'utf8')
}
