// Adds up the vitest JSON reports of every package (test-output/vitest.json) into one closing line,
// and fails when a test was skipped or none ran.
import { existsSync, readdirSync, readFileSync } from 'node:fs'

const roots = ['packages', 'apps', 'tests'].filter(existsSync)
let passed = 0
let failed = 0
let skipped = 0
const lines = []
for (const root of roots) {
  for (const name of readdirSync(root)) {
    const report = `${root}/${name}/test-output/vitest.json`
    if (!existsSync(report)) continue
    const r = JSON.parse(readFileSync(report, 'utf8'))
    const s = r.numPendingTests + r.numTodoTests
    passed += r.numPassedTests
    failed += r.numFailedTests
    skipped += s
    lines.push(
      `  ${root}/${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed in ${r.numTotalTestSuites} suites`,
    )
  }
}
console.log(['test summary:', ...lines].join('\n'))
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
if (failed > 0 || skipped > 0 || passed === 0) process.exitCode = 1
