import type { TestDatabase } from '@penguinmails/schema/testing'
import pg from 'pg'

/** A plain pg client as the superuser, for fixtures and for checks no app role may make. */
export async function superuser(database: TestDatabase, applicationName = 'pm-test-superuser') {
  const client = new pg.Client({
    connectionString: database.url(),
    application_name: applicationName,
  })
  await client.connect()
  // an error on an idle client (terminated by a test) must not end the test process
  client.on('error', () => undefined)
  return client
}

export async function scalar<T = string>(
  client: pg.Client,
  text: string,
  params: unknown[] = [],
): Promise<T> {
  const { rows } = await client.query(text, params)
  const row = rows[0] as Record<string, unknown> | undefined
  return (row ? Object.values(row)[0] : undefined) as T
}
