import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface JwtSecret {
  secret: string
  /** where it is kept; null when it lives only as long as this process */
  file: string | null
  /** true when this start created it */
  created: boolean
}

/**
 * The demo's token key: JWT_SECRET when set; else a random one kept in `demo-jwt-secret` beside
 * the embedded database's folder (`.data/` by default), so that printed tokens survive restarts.
 * An in-memory database (`memory://`) gets a fresh key per start.
 */
export function resolveJwtSecret(configured: string | undefined, dataDir: string): JwtSecret {
  if (configured) return { secret: configured, file: null, created: false }
  if (dataDir.startsWith('memory://'))
    return { secret: randomBytes(32).toString('base64url'), file: null, created: true }
  const file = join(dirname(dataDir), 'demo-jwt-secret')
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim()
    if (secret.length < 32)
      throw new Error(
        `${file} holds a key shorter than 32 characters: delete it to get a new one (tokens printed before stop working)`,
      )
    return { secret, file, created: false }
  }
  mkdirSync(dirname(file), { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  // wx: two demos starting at once must not both write it
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  return { secret, file, created: true }
}
