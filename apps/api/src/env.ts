import { z } from 'zod'

const integer = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `${name} must be at least ${min}`)
        .max(max, `${name} must be at most ${max}`),
    )
    .optional()
    .transform((v) => v ?? fallback)

const EnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL')
    .optional(),
  // a streaming replica of DATABASE_URL: every read goes there, every write (audit entries) to
  // DATABASE_URL
  DATABASE_REPLICA_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_REPLICA_URL must be a postgres:// URL')
    .optional(),
  PM_DATA_DIR: z.string().min(1).optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: integer('PORT', 0, 65535, 3000),
  JWT_SECRET: z
    .string({ error: 'JWT_SECRET is required: the HS256 key that signs the API tokens' })
    .min(32, 'JWT_SECRET must be at least 32 characters (256 bits for HS256)'),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  STATEMENT_TIMEOUT_MS: integer('STATEMENT_TIMEOUT_MS', 10, 600_000, 5_000),
  DATABASE_POOL_SIZE: integer('DATABASE_POOL_SIZE', 1, 200, 10),
  SHUTDOWN_TIMEOUT_MS: integer('SHUTDOWN_TIMEOUT_MS', 0, 600_000, 10_000),
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'], 'TRUST_PROXY must be true or false')
    .optional()
    .transform((v) => v === 'true' || v === '1'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// URL')
    .optional(),
  REDIS_KEY_PREFIX: z.string().min(1).default('penguinmails:api:'),
  RATE_LIMIT_REQUESTS: integer('RATE_LIMIT_REQUESTS', 1, 1_000_000, 600),
  RATE_LIMIT_WINDOW_SECONDS: integer('RATE_LIMIT_WINDOW_SECONDS', 1, 86_400, 60),
  // the per-tenant result cache of the campaign performance and usage reads; 0 turns it off
  API_RESULT_CACHE_BYTES: integer('API_RESULT_CACHE_BYTES', 0, 17_179_869_184, 67_108_864),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
})

export type ApiEnv = z.output<typeof EnvSchema>

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'EnvError'
  }
}

/** Reads and checks the configuration; the only reader of process.env. */
export function readEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  // an empty variable means unset, as in most deployment tools
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''))
  const parsed = EnvSchema.safeParse(present)
  if (parsed.success && parsed.data.DATABASE_REPLICA_URL && !parsed.data.DATABASE_URL)
    throw new EnvError([
      'DATABASE_REPLICA_URL needs DATABASE_URL: the replica serves reads, the primary takes the audit entries (the embedded database has no replica)',
    ])
  if (parsed.success) return parsed.data
  throw new EnvError(
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment')
      return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`
    }),
  )
}
