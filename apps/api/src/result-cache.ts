/**
 * Serialised JSON bodies of tenant reads, per tenant, route, parameters and role, each stored with
 * the tenant's data version it was read at (analytics_tenant_versions, migration 0010). An entry
 * is served only while the tenant's version is still that one: every write to the data a cached
 * route reads bumps the version in the writing transaction, so invalidation is exact and needs no
 * message from the aggregator. The freshness watermark is not part of the entry; it is read live
 * with the version and spliced in.
 *
 * Bounded by bytes, least recently used first out; a body larger than the whole budget is not
 * stored. One instance per process: each API instance keeps its own.
 */
export interface CachedBody {
  tenantId: string
  version: string
  /** the JSON body up to where `freshness` goes, without its closing brace */
  head: string
  /** what follows `freshness` (`,"comparison":…` or nothing), without the closing brace */
  tail: string
  bytes: number
}

export class ResultCache {
  readonly #entries = new Map<string, CachedBody>()
  #bytes = 0

  constructor(readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0
  }

  get bytes(): number {
    return this.#bytes
  }

  get entries(): number {
    return this.#entries.size
  }

  /** The entry under `key` whatever its version, marked recently used; the caller checks the version. */
  peek(key: string, tenantId: string): CachedBody | undefined {
    const entry = this.#entries.get(key)
    // the key holds the tenant already; checked again so that no bug in a key can cross tenants
    if (!entry || entry.tenantId !== tenantId) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    return entry
  }

  set(key: string, entry: Omit<CachedBody, 'bytes'>): void {
    if (!this.enabled) return
    const bytes =
      Buffer.byteLength(key) + Buffer.byteLength(entry.head) + Buffer.byteLength(entry.tail) + 64
    this.delete(key)
    if (bytes > this.maxBytes) return
    while (this.#bytes + bytes > this.maxBytes) {
      const oldest = this.#entries.keys().next().value as string
      this.delete(oldest)
    }
    this.#entries.set(key, { ...entry, bytes })
    this.#bytes += bytes
  }

  delete(key: string): void {
    const entry = this.#entries.get(key)
    if (!entry) return
    this.#entries.delete(key)
    this.#bytes -= entry.bytes
  }
}

/** The cache key: tenant, role, route and the validated parameters in a stable order. */
export function resultCacheKey(
  tenantId: string,
  role: string,
  route: string,
  parameters: Record<string, unknown>,
): string {
  const normalised = Object.keys(parameters)
    .filter((name) => parameters[name] !== undefined && name !== 'format')
    .sort()
    .map((name) => [name, parameters[name]])
  return JSON.stringify([tenantId, role, route, normalised])
}

/** The response body of a cached entry with the live freshness watermark. */
export function cachedBodyText(
  entry: Pick<CachedBody, 'head' | 'tail'>,
  freshness: unknown,
): string {
  return `${entry.head},"freshness":${JSON.stringify(freshness)}${entry.tail}}`
}
