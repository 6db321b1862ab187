// Bundles an app for production: `node ../../scripts/bundle-app.mjs src/index.ts …` in apps/<app>
// writes bundle/, a folder that runs on its own with `node dist/index.js`:
//   dist/       the entry points with every dependency inlined (shared code in chunk files)
//   sql/        the schema's migrations, which @penguinmails/schema reads at run time (../sql/)
//   package.json  only the dependencies left out of the bundle, at the versions the workspace
//               resolved: packages that read files of their own at run time (PGlite's wasm and
//               data, swagger-ui's static files). `npm install --omit=dev --ignore-scripts`
//               there installs them.
// Optional native add-ons (pg-native, msgpackr-extract) are left out: their users fall back.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'

const RUNTIME_FILES = ['@electric-sql/pglite', 'swagger-ui-dist']
const OPTIONAL_NATIVE = ['pg-native', 'msgpackr-extract']

const app = process.cwd()
const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))
const entries = process.argv.slice(2)
if (entries.length === 0) throw new Error('usage: bundle-app.mjs src/index.ts [src/other.ts …]')
const out = join(app, 'bundle')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

const result = await build({
  entryPoints: entries,
  outdir: join(out, 'dist'),
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  metafile: true,
  external: [...RUNTIME_FILES, ...OPTIONAL_NATIVE],
  // CommonJS dependencies (pg, ioredis) call require(); an ES module has none of its own
  banner: {
    js: "import { createRequire as __pmCreateRequire } from 'node:module'; const require = __pmCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
})

// the schema's SQL, from its built package (the build copies the top-level sql/ there)
const schemaDir = dirname(
  createRequire(join(app, 'package.json')).resolve('@penguinmails/schema/package.json'),
)
cpSync(join(schemaDir, 'sql'), join(out, 'sql'), { recursive: true })

// read from node_modules directly: not every package exports its package.json
const versionOf = (name) => {
  for (const dir of [app, schemaDir]) {
    const file = join(dir, 'node_modules', name, 'package.json')
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')).version
  }
  throw new Error(`${name} is imported by the bundle but not installed for ${manifest.name}`)
}
const imported = Object.values(result.metafile.outputs).flatMap((o) =>
  o.imports.filter((i) => i.external).map((i) => i.path),
)
const dependencies = {}
// imported by the bundle, or resolved at run time by the app itself (swagger-ui's files)
for (const name of RUNTIME_FILES)
  if (imported.some((p) => p === name || p.startsWith(`${name}/`)) || manifest.dependencies?.[name])
    dependencies[name] = versionOf(name)
writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify(
    {
      name: `${manifest.name}-bundle`,
      version: manifest.version,
      private: true,
      type: 'module',
      engines: manifest.engines,
      dependencies,
    },
    null,
    2,
  )}\n`,
)
