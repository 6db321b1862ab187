import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runOrThrow } from './run.js'
import { PACKAGES, packageDir, packageJson } from './workspace.js'

export interface PackedPackage {
  name: string
  version: string
  tarball: string
  bytes: number
}

/**
 * `pnpm pack`s every package (pnpm rewrites workspace:* into the real version, as on publish)
 * into `dir`.
 */
export async function packPackages(dir: string): Promise<PackedPackage[]> {
  mkdirSync(dir, { recursive: true })
  const packed: PackedPackage[] = []
  for (const name of PACKAGES) {
    const before = new Set(readdirSync(dir))
    await runOrThrow('pnpm', ['pack', '--pack-destination', dir], { cwd: packageDir(name) })
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz') && !before.has(f))
    if (!tarball) throw new Error(`pnpm pack of packages/${name} wrote no tarball`)
    const { name: pkg, version } = packageJson(packageDir(name))
    packed.push({
      name: pkg,
      version,
      tarball: join(dir, tarball),
      bytes: statSync(join(dir, tarball)).size,
    })
  }
  return packed
}

/**
 * A project outside the workspace that depends on the tarballs only: the registry supplies every
 * other dependency, and overrides make the packages' own dependencies on each other resolve to
 * the tarballs too (they are not published yet).
 */
export async function installScratchProject(
  dir: string,
  packed: PackedPackage[],
  extra: Record<string, string> = {},
): Promise<void> {
  const tarballs = Object.fromEntries(packed.map((p) => [p.name, `file:${p.tarball}`]))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'scratch',
        private: true,
        type: 'module',
        dependencies: { ...tarballs, ...extra },
        overrides: tarballs,
      },
      null,
      2,
    ),
  )
  await runOrThrow(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'],
    { cwd: dir, timeoutMs: 280_000 },
  )
}
