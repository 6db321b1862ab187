export {
  createTestDatabase,
  TEST_SERVER_URL,
  type TestDatabase,
  type TestDatabaseOptions,
} from './test-database.js'
