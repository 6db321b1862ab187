// The only reader of process.env in this package: the CLI's configuration.
export interface GeneratorEnv {
  /** PostgreSQL; unset: the embedded PGlite database */
  databaseUrl: string | undefined
  /** where the embedded database keeps its files */
  dataDir: string | undefined
}

export function readGeneratorEnv(env: NodeJS.ProcessEnv = process.env): GeneratorEnv {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error(
      `DATABASE_URL must be a postgres:// or postgresql:// URL (got "${databaseUrl.slice(0, 20)}…"); unset it to use the embedded database`,
    )
  }
  return { databaseUrl, dataDir: env.PM_DATA_DIR?.trim() || undefined }
}
