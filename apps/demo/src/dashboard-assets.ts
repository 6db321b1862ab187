import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Asset {
  body: Uint8Array<ArrayBuffer>
  type: string
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/** The built dashboard (dist/dashboard, copied from src/dashboard by the build). */
export const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url))

function load(path: string): Asset {
  const type = TYPES[extname(path)]
  if (!type) throw new Error(`no content type for ${path}`)
  return { body: new Uint8Array(readFileSync(path)), type }
}

/**
 * Every file the dashboard serves, read once at start and keyed by URL path: the dashboard's own
 * files under /dashboard/ and uPlot from the installed package under /vendor/uplot/ (no CDN: the
 * demo works offline). A path not in the map is simply not served.
 */
export function loadDashboardAssets(dir = DASHBOARD_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  let files: string[]
  try {
    files = readdirSync(dir)
  } catch (error) {
    throw new Error(`the dashboard is missing at ${dir}: build the demo first (pnpm start does)`, {
      cause: error,
    })
  }
  for (const name of files)
    if (TYPES[extname(name)]) assets.set(`/dashboard/${name}`, load(join(dir, name)))
  const index = assets.get('/dashboard/index.html')
  if (!index) throw new Error(`${dir} has no index.html: rebuild the demo`)
  assets.set('/', index)
  const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')
  assets.set('/vendor/uplot/uPlot.esm.js', load(join(uplot, 'uPlot.esm.js')))
  assets.set('/vendor/uplot/uPlot.min.css', load(join(uplot, 'uPlot.min.css')))
  return assets
}
