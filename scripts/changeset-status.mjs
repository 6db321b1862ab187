// `changeset status` against the base branch, as CI runs it. changesets diffs against
// `git merge-base <ref> HEAD`, which fails when the ref is missing: a fresh clone has `main` but a
// detached CI checkout may only have `origin/main`, and a shallow or single-branch clone may have
// neither. So the first of origin/<base>, <base> that shares history with HEAD is used, and HEAD
// itself otherwise (then only uncommitted changes count as changed).
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const git = (...args) =>
  spawnSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })

if (git('rev-parse', '--is-inside-work-tree').stdout.trim() !== 'true') {
  console.log(
    'changeset status: not a git checkout, so there is no history to compare; nothing to check',
  )
  process.exit(0)
}

const { baseBranch = 'main' } = JSON.parse(readFileSync(`${root}.changeset/config.json`, 'utf8'))
const since =
  [`origin/${baseBranch}`, baseBranch].find((ref) => git('merge-base', ref, 'HEAD').status === 0) ??
  'HEAD'
console.log(`changeset status --since=${since}`)
try {
  execFileSync(`${root}node_modules/.bin/changeset`, ['status', `--since=${since}`], {
    cwd: root,
    stdio: 'inherit',
  })
} catch {
  process.exitCode = 1
}
