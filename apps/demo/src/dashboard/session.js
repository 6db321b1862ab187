// The bearer token and the tenant hints: taken from the URL fragment that `pnpm start` prints
// (#token=…&tenants=…; a fragment never reaches the server), kept in this tab's sessionStorage.
const TOKEN_KEY = 'penguinmails.token'
const TENANTS_KEY = 'penguinmails.tenants'

/** The JWT's claims, read without verifying them: the API verifies; the page only labels. */
export function decodeClaims(token) {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
    const claims = JSON.parse(json)
    return typeof claims === 'object' && claims !== null ? claims : null
  } catch {
    return null
  }
}

export function takeFragment() {
  if (!location.hash) return
  const params = new URLSearchParams(location.hash.slice(1))
  const token = params.get('token')
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  const tenants = params.get('tenants')
  if (tenants) sessionStorage.setItem(TENANTS_KEY, tenants)
  // out of the address bar, the history and any screenshot
  history.replaceState(null, '', location.pathname + location.search)
}

export function currentToken() {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim())
}

export function tenantHints() {
  return (sessionStorage.getItem(TENANTS_KEY) ?? '').split(',').filter(Boolean)
}
