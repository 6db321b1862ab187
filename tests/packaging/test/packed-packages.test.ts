import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROLES } from '@penguinmails/schema'
import {
  createTestDatabase,
  TEST_SERVER_URL,
  type TestDatabase,
} from '@penguinmails/schema/testing'
import pg from 'pg'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run, runOrThrow } from './support/run.js'
import {
  installScratchProject,
  type PackedPackage,
  packPackages,
} from './support/scratch-project.js'
import {
  PACKAGES,
  type PackageDir,
  packageDir,
  REPO_ROOT,
  readmeExample,
} from './support/workspace.js'

// Each README example runs against a database of its own, as the role its README names.
interface ExampleDatabase {
  url: string
  drop(): Promise<void>
}

async function emptyDatabase(): Promise<ExampleDatabase> {
  const name = `pm_pack_empty_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: TEST_SERVER_URL })
  await admin.connect()
  await admin.query(`create database "${name}"`)
  await admin.end()
  const url = new URL(TEST_SERVER_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_SERVER_URL })
      await c.connect()
      await c.query(`drop database if exists "${name}" with (force)`)
      await c.end()
    },
  }
}

async function migratedDatabase(
  role?: (typeof ROLES)[keyof typeof ROLES],
): Promise<ExampleDatabase> {
  const db: TestDatabase = await createTestDatabase({ label: 'packaging' })
  return { url: db.url(role), drop: () => db.drop() }
}

const EXAMPLES: Record<PackageDir, { database(): Promise<ExampleDatabase>; prints: RegExp }> = {
  // an empty database: the example bootstraps and migrates it
  schema: { database: emptyDatabase, prints: /^postgres [1-9]\d*\n\[ \{ id: 't-1' \} \] \[\]\n$/ },
  aggregator: { database: () => migratedDatabase(ROLES.writer), prints: /\[\]\n$/ },
  'audit-logger': {
    database: () => migratedDatabase(ROLES.writer),
    prints: /\{"version":1,"seq":"1","rowHash":"[0-9a-f]{64}"/,
  },
  'bi-queries': { database: () => migratedDatabase(ROLES.admin), prints: /^\[\]\n$/ },
  'data-generator': {
    database: () => migratedDatabase(),
    prints: /emails: 20000\n\} \d+ copy\n$/,
  },
}

let scratch: string
let packed: PackedPackage[]

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pm-packed-'))
  packed = await packPackages(join(scratch, 'tarballs'))
  await installScratchProject(scratch, packed, { '@types/node': '^20.19.0' })
  mkdirSync(join(scratch, 'examples'))
  for (const name of PACKAGES) {
    const source = readmeExample(packageDir(name))
    writeFileSync(join(scratch, 'examples', `${name}.ts`), source)
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText
    writeFileSync(join(scratch, 'examples', `${name}.mjs`), js)
  }
  mkdirSync(join(REPO_ROOT, 'tests/packaging/test-output'), { recursive: true })
  writeFileSync(
    join(REPO_ROOT, 'tests/packaging/test-output/tarballs.json'),
    JSON.stringify(
      packed.map((p) => ({ name: p.name, version: p.version, bytes: p.bytes })),
      null,
      2,
    ),
  )
})

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true })
})

describe('each package packed alone', () => {
  it('ships built ESM, declarations, its README and nothing of src or test', async () => {
    for (const p of packed) {
      const files = (await runOrThrow('tar', ['-tzf', p.tarball], { cwd: scratch }))
        .split('\n')
        .filter(Boolean)
      expect(files, p.name).toContain('package/README.md')
      expect(files, p.name).toContain('package/dist/index.js')
      expect(files, p.name).toContain('package/dist/index.d.ts')
      expect(
        files.filter((f) => /^package\/(src|test)\//.test(f) || f.includes('.test.')),
        p.name,
      ).toEqual([])
    }
  })

  it('depends on its siblings by version, not workspace:', async () => {
    for (const p of packed) {
      const manifest = JSON.parse(
        await runOrThrow('tar', ['-xzOf', p.tarball, 'package/package.json'], { cwd: scratch }),
      ) as { dependencies?: Record<string, string> }
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {}))
        expect(range, `${p.name} → ${dep}`).not.toMatch(/^workspace:/)
    }
  })

  it('the README examples typecheck against the installed declarations', async () => {
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['examples/*.ts'],
      }),
    )
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc')
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: scratch })
    expect(result.stdout + result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  for (const name of PACKAGES) {
    it(`the README example of ${name} runs from the installed tarball`, async () => {
      const database = await EXAMPLES[name].database()
      try {
        const result = await run(process.execPath, [join('examples', `${name}.mjs`)], {
          cwd: scratch,
          env: { ...process.env, DATABASE_URL: database.url },
          timeoutMs: 120_000,
        })
        expect(result.stderr).toBe('')
        expect(result.code).toBe(0)
        expect(result.stdout).toMatch(EXAMPLES[name].prints)
      } finally {
        await database.drop()
      }
    })
  }
})
