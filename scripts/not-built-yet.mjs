// Stands in for a root script whose code is not built yet:
//   node scripts/not-built-yet.mjs <script> <issue>
// prints which issue builds it and exits 1, so that nothing mistakes it for success.
const [script = '<script>', issue = '?'] = process.argv.slice(2)
process.stderr.write(`pnpm ${script}: not built yet — issue #${issue} builds it\n`)
process.exitCode = 1
