import { sign } from 'hono/jwt'

/** Demo tokens last this long: a demo left running over a weekend keeps working. */
export const DEMO_TOKEN_DAYS = 30

export interface DemoTokens {
  tenantId: string
  member: string
  admin: string
  expiresAt: Date
}

/** A member token of `tenantId` and an admin token (issued in the same tenant), HS256. */
export async function signDemoTokens(
  secret: string,
  tenantId: string,
  now = new Date(),
): Promise<DemoTokens> {
  const exp = Math.floor(now.getTime() / 1000) + DEMO_TOKEN_DAYS * 86_400
  const claims = { tenant_id: tenantId, iat: Math.floor(now.getTime() / 1000), exp }
  return {
    tenantId,
    member: await sign({ ...claims, sub: 'demo-member', role: 'member' }, secret, 'HS256'),
    admin: await sign({ ...claims, sub: 'demo-admin', role: 'admin' }, secret, 'HS256'),
    expiresAt: new Date(exp * 1000),
  }
}
