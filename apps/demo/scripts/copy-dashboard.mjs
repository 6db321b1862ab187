// Copies the dashboard's static files (plain HTML, CSS and ES modules: nothing to compile) into dist/.
import { cpSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const from = fileURLToPath(new URL('../src/dashboard/', import.meta.url))
const to = fileURLToPath(new URL('../dist/dashboard/', import.meta.url))
rmSync(to, { recursive: true, force: true })
cpSync(from, to, { recursive: true })
