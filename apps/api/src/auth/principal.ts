export const ROLE_CLAIMS = ['member', 'admin'] as const
export type RoleClaim = (typeof ROLE_CLAIMS)[number]

/** Who is asking, from a verified token. */
export interface Principal {
  /** the token's sub: a user id, or the admin's id in audit entries */
  subject: string
  /** the tenant the token was issued for */
  tenantId: string
  role: RoleClaim
}
