// Ships the repository's top-level sql/ inside the published package (as ./sql).
import { cpSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const from = fileURLToPath(new URL('../../../sql/', import.meta.url))
const to = fileURLToPath(new URL('../sql/', import.meta.url))
rmSync(to, { recursive: true, force: true })
cpSync(from, to, { recursive: true, filter: (path) => !path.endsWith('README.md') })
