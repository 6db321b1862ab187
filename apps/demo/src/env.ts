import { DEFAULT_DATA_DIR } from '@penguinmails/schema'

/** How much demo data a first start generates: generated and aggregated in ~15 s on PGlite. */
export const DEFAULT_DEMO_EMAILS = 60_000

export interface DemoEnv {
  /** PostgreSQL; unset: the embedded PGlite database under dataDir */
  databaseUrl: string | undefined
  /** the embedded database's folder (`memory://` keeps it in memory) */
  dataDir: string
  /** with Redis the BullMQ worker keeps analytics fresh; without it an in-process loop does */
  redisUrl: string | undefined
  host: string
  port: number
  /** emails generated on a first start (an empty database) */
  demoEmails: number
  /** seed of the demo data: the same seed gives the same data */
  demoSeed: number
  /** milliseconds between two batches of simulated email activity; 0 stops the stream */
  streamIntervalMs: number
  /** the HS256 key of the API tokens; unset: a random one kept beside the data folder */
  jwtSecret: string | undefined
}

export class DemoEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'DemoEnvError'
  }
}

function wholeNumber(
  source: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = source[name]
  if (raw === undefined || raw === '') return fallback
  // 100k or 1_000_000 are what people type for sizes
  const text = raw.replace(/_/g, '').replace(/k$/i, '000')
  if (!/^\d+$/.test(text)) {
    problems.push(`${name} must be a whole number, got "${raw}"`)
    return fallback
  }
  const value = Number(text)
  if (value < min || value > max) problems.push(`${name} must be between ${min} and ${max}`)
  return value
}

/** Reads and checks the demo's configuration; the only reader of process.env in the demo. */
export function readDemoEnv(source: Record<string, string | undefined> = process.env): DemoEnv {
  const problems: string[] = []
  const text = (name: string) => {
    const value = source[name]
    return value === undefined || value === '' ? undefined : value
  }
  const databaseUrl = text('DATABASE_URL')
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl))
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL')
  const redisUrl = text('REDIS_URL')
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl))
    problems.push('REDIS_URL must be a redis:// or rediss:// URL')
  const jwtSecret = text('JWT_SECRET')
  if (jwtSecret && jwtSecret.length < 32)
    problems.push('JWT_SECRET must be at least 32 characters (256 bits for HS256)')
  const env: DemoEnv = {
    databaseUrl,
    dataDir: text('PM_DATA_DIR') ?? DEFAULT_DATA_DIR,
    redisUrl,
    // localhost only by default: the demo prints admin tokens
    host: text('HOST') ?? '127.0.0.1',
    port: wholeNumber(source, 'PORT', 3000, 0, 65_535, problems),
    demoEmails: wholeNumber(
      source,
      'DEMO_EMAILS',
      DEFAULT_DEMO_EMAILS,
      1_000,
      100_000_000,
      problems,
    ),
    demoSeed: wholeNumber(source, 'DEMO_SEED', 42, 0, 2 ** 31 - 1, problems),
    streamIntervalMs: wholeNumber(source, 'DEMO_STREAM_INTERVAL_MS', 2_000, 0, 3_600_000, problems),
    jwtSecret,
  }
  if (problems.length > 0) throw new DemoEnvError(problems)
  return env
}
