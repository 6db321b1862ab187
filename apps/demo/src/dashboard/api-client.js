// GETs on the public read API with the bearer token; errors carry the API's problem detail.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail)
    this.name = 'ApiError'
    this.status = status
  }
}

/** Up to this many pages of a list are followed (MAX page size 100 each). */
const MAX_PAGES = 20

/**
 * `onFreshness` receives the freshness watermark (`{ as_of, pending_changes }`) of every tenant
 * read, as the API's JSON bodies carry it.
 */
export function createApi(getToken, onFreshness = () => {}) {
  async function get(path, params = {}) {
    const url = new URL(path, location.origin)
    for (const [key, value] of Object.entries(params))
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value)
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${getToken()}`, accept: 'application/json' },
    })
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`
      try {
        const problem = await response.json()
        const errors = (problem.errors ?? []).map((e) => `${e.name}: ${e.reason}`).join('; ')
        detail = `${problem.title ?? detail}: ${problem.detail ?? ''}${errors ? ` (${errors})` : ''}`
      } catch {
        // not a problem document: the status line says enough
      }
      throw new ApiError(response.status, `${url.pathname}: ${detail}`)
    }
    const body = await response.json()
    if (body.freshness) onFreshness(body.freshness)
    return body
  }

  /** Every row of a keyset-paginated list, up to MAX_PAGES pages; `truncated` when more remain. */
  async function getAll(path, params = {}) {
    const rows = []
    let cursor
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await get(path, { ...params, limit: 100, cursor })
      rows.push(...body.data)
      cursor = body.next_cursor
      if (!cursor) return { rows, truncated: false, body }
    }
    return { rows, truncated: true }
  }

  return { get, getAll }
}
