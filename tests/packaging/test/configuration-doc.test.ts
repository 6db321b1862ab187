import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from './support/workspace.js'

const APPS = ['api', 'worker', 'maintenance', 'demo'] as const

/**
 * The variables an app's env.ts reads: the keys of its zod schemas (`NAME: z…`) and the names it
 * passes as strings (`get('NAME')`, `integer('NAME', …)`).
 */
function variablesInCode(app: string): Set<string> {
  const source = readFileSync(join(REPO_ROOT, 'apps', app, 'src/env.ts'), 'utf8')
  const found = new Set<string>()
  for (const m of source.matchAll(/^\s+([A-Z][A-Z0-9_]+): z\b/gm)) found.add(m[1] as string)
  for (const m of source.matchAll(/['"]([A-Z][A-Z0-9]*_[A-Z0-9_]+|HOST|PORT)['"]/g))
    found.add(m[1] as string)
  return found
}

/** app → variables, from the one table of docs/configuration.md */
function variablesInDoc(): Map<string, Set<string>> {
  const doc = readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8')
  const byApp = new Map<string, Set<string>>(APPS.map((a) => [a, new Set()]))
  for (const line of doc.split('\n')) {
    if (!line.startsWith('| `')) continue
    const [, names, apps] = line.split('|').map((cell) => cell.trim())
    for (const app of (apps ?? '').split(',').map((a) => a.trim())) {
      const set = byApp.get(app)
      if (!set) throw new Error(`docs/configuration.md names an unknown app "${app}": ${line}`)
      for (const m of (names ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)) set.add(m[1] as string)
    }
  }
  return byApp
}

describe('docs/configuration.md', () => {
  const doc = variablesInDoc()
  for (const app of APPS) {
    it(`lists exactly the variables apps/${app}/src/env.ts reads`, () => {
      const code = variablesInCode(app)
      expect(code.size).toBeGreaterThan(3)
      expect([...(doc.get(app) ?? [])].sort()).toEqual([...code].sort())
    })
  }
})
