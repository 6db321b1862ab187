/** The claims of a verified token, as the routes use them. */
export interface VerifiedClaims {
  sub: string
  tenant_id: string
  role: 'member' | 'admin'
  /** expiry, seconds since the epoch */
  exp: number
}

/** How many verified tokens are remembered; the oldest is forgotten first. */
export const TOKEN_CACHE_ENTRIES = 10_000

/**
 * Tokens already verified, keyed by the exact token string: a client sends the same token with
 * every request, and checking its HMAC each time costs more than the rest of a cached read. Only a
 * token that passed every check is stored, and an entry is used only before the token's exp, so
 * a cached token is accepted exactly when verifying it again would accept it (iss, aud and the
 * secret are fixed for the process; nbf and iat, once past, stay past).
 */
export class TokenCache {
  readonly #entries = new Map<string, VerifiedClaims>()

  constructor(readonly maxEntries = TOKEN_CACHE_ENTRIES) {}

  get(token: string, nowSeconds = Math.floor(Date.now() / 1000)): VerifiedClaims | undefined {
    const claims = this.#entries.get(token)
    if (!claims) return undefined
    // the same test as the verifier's: expired when exp <= now
    if (claims.exp <= nowSeconds) {
      this.#entries.delete(token)
      return undefined
    }
    return claims
  }

  set(token: string, claims: VerifiedClaims): void {
    if (this.maxEntries <= 0) return
    this.#entries.delete(token)
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
    this.#entries.set(token, claims)
  }

  get size(): number {
    return this.#entries.size
  }
}
