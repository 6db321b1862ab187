import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run, runOrThrow } from './support/run.js'
import { REPO_ROOT } from './support/workspace.js'

interface Manifest {
  name: string
  version: string
  dependencies?: Record<string, string>
}

const CHANGESET = join(REPO_ROOT, 'node_modules/.bin/changeset')

const read = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))

let scratch: string
/** the workspace's package folders, relative to the root, as pnpm lists them */
let packageDirs: string[]

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pm-changesets-'))
  const listing = JSON.parse(
    await runOrThrow('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: REPO_ROOT }),
  ) as { path: string }[]
  packageDirs = listing
    .map((p) => p.path.slice(REPO_ROOT.length).replace(/\/$/, ''))
    .filter((d) => d.length > 0)
})

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

describe('changeset version (dry, in a scratch copy)', () => {
  it('a minor change to @penguinmails/schema bumps it and patches everything that depends on it', async () => {
    const copy = join(scratch, 'version')
    for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json'])
      cpSync(join(REPO_ROOT, file), join(copy, file))
    for (const dir of packageDirs)
      cpSync(join(REPO_ROOT, dir, 'package.json'), join(copy, dir, 'package.json'))
    writeFileSync(
      join(copy, '.changeset/schema-change.md'),
      '---\n"@penguinmails/schema": minor\n---\n\nA new column.\n',
    )
    const before = new Map(
      packageDirs.map((d) => [read(join(REPO_ROOT, d)).name, read(join(REPO_ROOT, d))]),
    )

    await runOrThrow(CHANGESET, ['version'], { cwd: copy })

    const schema = before.get('@penguinmails/schema')
    expect(schema).toBeDefined()
    const [major, minor] = (schema?.version ?? '').split('.').map(Number)
    const next = `${major}.${(minor ?? 0) + 1}.0`
    const dependents: string[] = []
    for (const dir of packageDirs.map((d) => join(copy, d))) {
      const after = read(dir)
      const was = before.get(after.name)
      if (!was) throw new Error(`${after.name} appeared in the copy`)
      if (after.name === '@penguinmails/schema') {
        expect(after.version).toBe(next)
        expect(readFileSync(join(dir, 'CHANGELOG.md'), 'utf8')).toContain('A new column.')
      } else if (was.dependencies?.['@penguinmails/schema']) {
        dependents.push(after.name)
        const [M, m, p] = was.version.split('.').map(Number)
        expect(after.version, after.name).toBe(`${M}.${m}.${(p ?? 0) + 1}`)
        expect(readFileSync(join(dir, 'CHANGELOG.md'), 'utf8'), after.name).toContain(
          `@penguinmails/schema@${next}`,
        )
      } else {
        expect(after.version, after.name).toBe(was.version)
        expect(existsSync(join(dir, 'CHANGELOG.md')), after.name).toBe(false)
      }
    }
    // the four other packages and the apps
    expect(dependents).toEqual(
      expect.arrayContaining([
        '@penguinmails/aggregator',
        '@penguinmails/audit-logger',
        '@penguinmails/bi-queries',
        '@penguinmails/data-generator',
        '@penguinmails/api',
        '@penguinmails/worker',
      ]),
    )
    // the changeset was consumed; the real repository was not touched
    expect(existsSync(join(copy, '.changeset/schema-change.md'))).toBe(false)
    expect(read(join(REPO_ROOT, 'packages/schema')).version).toBe(schema?.version)
  })
})

describe('changeset status, as CI runs it (scripts/changeset-status.mjs)', () => {
  async function clone(name: string, args: string[]): Promise<string> {
    const dir = join(scratch, name)
    await runOrThrow('git', ['clone', '--quiet', ...args, `file://${REPO_ROOT}`, dir], {
      cwd: scratch,
    })
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'))
    return dir
  }

  it('passes on a full clone (the base branch is origin/main)', async () => {
    const dir = await clone('full', [])
    const result = await run(process.execPath, ['scripts/changeset-status.mjs'], { cwd: dir })
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('changeset status --since=origin/main')
    expect(result.code).toBe(0)
  })

  it('passes on a shallow, detached clone that has neither main nor origin/main', async () => {
    const dir = await clone('shallow', ['--depth', '1'])
    await runOrThrow('git', ['checkout', '--quiet', '--detach'], { cwd: dir })
    await runOrThrow('git', ['remote', 'remove', 'origin'], { cwd: dir })
    const branches = await runOrThrow(
      'git',
      ['for-each-ref', '--format=%(refname:short)', 'refs/heads'],
      { cwd: dir },
    )
    for (const b of branches.split('\n').filter(Boolean))
      await runOrThrow('git', ['branch', '--quiet', '-D', b], { cwd: dir })
    const result = await run(process.execPath, ['scripts/changeset-status.mjs'], { cwd: dir })
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('changeset status --since=HEAD')
    expect(result.code).toBe(0)
  })

  it('fails when a package changed without a changeset', async () => {
    const dir = await clone('unreleased', ['--depth', '1'])
    await runOrThrow('git', ['checkout', '--quiet', '-b', 'feature'], { cwd: dir })
    writeFileSync(join(dir, 'packages/schema/src/new-file.ts'), 'export const x = 1\n')
    await runOrThrow('git', ['add', 'packages/schema/src/new-file.ts'], { cwd: dir })
    const result = await run(process.execPath, ['scripts/changeset-status.mjs'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('no changesets were found')
  })
})
