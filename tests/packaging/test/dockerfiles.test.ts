import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from './support/workspace.js'

// Images cannot be built on the test machine; this checks what each Dockerfile promises: two
// stages, the app's bundle with its externals installed (what bundled-apps.test.ts runs) or, for
// the demo, its `pnpm deploy --prod` output (deployed-apps.test.ts) copied into the final stage, a
// non-root user, and `node dist/index.js`.

const APPS = ['api', 'worker', 'maintenance', 'demo'] as const
const BUNDLED: readonly string[] = ['api', 'worker', 'maintenance']

function stages(app: string): string[][] {
  const text = readFileSync(join(REPO_ROOT, 'apps', app, 'Dockerfile'), 'utf8')
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  const result: string[][] = []
  for (const line of lines) {
    if (/^FROM /i.test(line)) result.push([])
    result.at(-1)?.push(line)
  }
  return result
}

describe('Dockerfiles', () => {
  for (const app of APPS) {
    it(`apps/${app}: multi-stage, the app's own output only, non-root, node dist/index.js`, () => {
      const [build, final, ...rest] = stages(app)
      expect(rest).toEqual([])
      expect(build?.[0]).toMatch(/^FROM node:20[\w.-]* AS build$/)
      expect(build).toContain('RUN pnpm install --frozen-lockfile')
      expect(build).toContain(`RUN pnpm turbo run build --filter=@penguinmails/${app}...`)
      expect(final?.[0]).toMatch(/^FROM node:20[\w.-]*$/)
      if (BUNDLED.includes(app)) {
        expect(build).toContain(
          `RUN cd apps/${app}/bundle && npm install --omit=dev --ignore-scripts --no-audit --no-fund`,
        )
        expect(final).toContain(`COPY --from=build /repo/apps/${app}/bundle ./`)
      } else {
        expect(build).toContain(
          `RUN pnpm --filter=@penguinmails/${app} --prod deploy --legacy /out`,
        )
        expect(final).toContain('COPY --from=build /out ./')
      }
      const users = (final ?? []).filter((l) => l.startsWith('USER '))
      expect(users).toEqual(['USER node'])
      // nothing runs as root after the switch
      const afterUser = (final ?? []).slice((final ?? []).indexOf('USER node'))
      expect(afterUser.filter((l) => /^(RUN|COPY|ADD) /.test(l))).toEqual([])
      const start = (final ?? []).filter((l) => /^(CMD|ENTRYPOINT) /.test(l)).join(' ')
      expect(start).toContain('["node", "dist/index.js"]')
    })
  }
})
