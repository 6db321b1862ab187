// A database kept by an earlier benchmark run (--keep), opened the way createTestDatabase opens its
// own, so that a run can reuse generated data instead of generating it again (--database).
import { createDatabase, migrate } from '@penguinmails/schema'
import { TEST_SERVER_URL } from '@penguinmails/schema/testing'

/** Opens the kept database `name` and migrates it to the current schema. */
export async function keptDatabase(name) {
  const urlFor = (role) => {
    const url = new URL(TEST_SERVER_URL)
    url.pathname = `/${name}`
    if (role) url.username = role
    return url.toString()
  }
  const opened = []
  const database = {
    url: urlFor,
    connect(role) {
      const db = createDatabase({ databaseUrl: urlFor(role) })
      opened.push(db)
      return db
    },
    async close() {
      await Promise.all(opened.map((d) => d.db.destroy()))
    },
  }
  const report = await migrate(database.connect().db)
  return { database, migrated: report.applied ?? [] }
}
