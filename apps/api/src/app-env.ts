import type { Principal } from './auth/principal.js'

/** What a request carries through Hono's context. */
export interface AppEnv {
  Variables: {
    requestId: string
    principal: Principal
    /** set once the request's audit entry (success or failure) is taken care of */
    auditHandled: boolean
  }
}
