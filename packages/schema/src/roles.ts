/** The database roles the project creates; none is a superuser or has BYPASSRLS. */
export const ROLES = {
  /** owns every object and runs migrations */
  owner: 'pm_owner',
  /** the worker and the maintenance runner */
  writer: 'pm_writer',
  /** the API's tenant reads */
  reader: 'pm_reader',
  /** platform admins: the admin tables, and tenant reads through pm_reader */
  admin: 'pm_admin',
} as const

export type RoleName = (typeof ROLES)[keyof typeof ROLES]

export const APP_ROLES: readonly RoleName[] = Object.values(ROLES)

/** The setting row level security reads: the tenant whose rows a reader may see. */
export const TENANT_SETTING = 'app.current_tenant_id'
