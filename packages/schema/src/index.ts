export { type BootstrapResult, bootstrapDatabase } from './bootstrap.js'
export { lintCatalog } from './catalog-lint.js'
export {
  createDatabase,
  type Database,
  type DatabaseConfig,
  type DatabaseKind,
  DEFAULT_DATA_DIR,
  redactUrl,
} from './create-database.js'
export type * from './database-types.js'
export {
  appliedMigrations,
  MIGRATIONS,
  MigrationError,
  type MigrationName,
  type MigrationReport,
  type MigrationTarget,
  migrate,
} from './migrations.js'
export { APP_ROLES, ROLES, type RoleName, TENANT_SETTING } from './roles.js'
export { describeSchema, formatSchemaReport, type SchemaReport } from './schema-report.js'
export { queryAsRole, queryAsTenant, type TenantScopeOptions, withTenant } from './tenant-scope.js'
