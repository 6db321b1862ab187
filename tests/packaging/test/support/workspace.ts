import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

/** The publishable packages, in dependency order (schema first). */
export const PACKAGES = [
  'schema',
  'aggregator',
  'audit-logger',
  'bi-queries',
  'data-generator',
] as const
export type PackageDir = (typeof PACKAGES)[number]

export function packageDir(name: PackageDir): string {
  return `${REPO_ROOT}packages/${name}`
}

export function packageJson(dir: string): {
  name: string
  version: string
  dependencies?: Record<string, string>
} {
  return JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'))
}

/** The first ```ts block of a README: the example a user copies. */
export function readmeExample(dir: string): string {
  const readme = readFileSync(`${dir}/README.md`, 'utf8')
  const match = /```ts\n([\s\S]*?)```/.exec(readme)
  if (!match?.[1]) throw new Error(`${dir}/README.md has no \`\`\`ts example`)
  return match[1]
}
