import { type TenantFreshnessAndVersion, toFreshnessAndVersion } from '@penguinmails/bi-queries'

/** Reads the freshness watermark and data version of each of `tenantIds`, by tenant. */
export type ProbeRead = (
  tenantIds: readonly string[],
) => Promise<Map<string, TenantFreshnessAndVersion>>

interface Waiter {
  resolve(value: TenantFreshnessAndVersion): void
  reject(error: unknown): void
}

/**
 * How many probes may be on their way to the database at once: more than one, so that requests
 * arriving while a probe is out need not wait for its whole round trip; few, so that they are read
 * together.
 */
export const PROBES_IN_FLIGHT = 2

/**
 * The live freshness watermark and data version that every result cache hit needs, read for all
 * the requests waiting at one moment, of any tenants, by one statement instead of one per request.
 *
 * Exactness: a request joins only a probe that has not been sent yet, and the probe is sent after
 * every request in it arrived, so the statement's snapshot holds every commit made before any of
 * its requests arrived, as a probe of its own would. A request never joins a probe in flight: it
 * waits for the next one, which goes when a probe returns (at most PROBES_IN_FLIGHT at once, so
 * that requests arriving meanwhile are read together).
 */
export class FreshnessProbe {
  #waiting = new Map<string, Waiter[]>()
  #scheduled = false
  #inFlight = 0
  /** probes sent so far (tests and metrics) */
  sent = 0

  constructor(
    readonly read: ProbeRead,
    /** told of each probe sent: how many tenants and requests it reads for */
    readonly onSend?: (tenants: number, requests: number) => void,
    readonly maxInFlight = PROBES_IN_FLIGHT,
  ) {}

  /** The tenant's watermark and version, read by a statement sent after this call. */
  probe(tenantId: string): Promise<TenantFreshnessAndVersion> {
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(tenantId)
      if (waiters) waiters.push({ resolve, reject })
      else this.#waiting.set(tenantId, [{ resolve, reject }])
      this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.maxInFlight || this.#waiting.size === 0) return
    this.#scheduled = true
    // after the I/O callbacks of this turn of the event loop: the requests parsed in it join too
    setImmediate(() => {
      this.#scheduled = false
      this.#send()
    })
  }

  #send(): void {
    if (this.#inFlight >= this.maxInFlight || this.#waiting.size === 0) return
    const batch = this.#waiting
    this.#waiting = new Map()
    this.#inFlight++
    this.sent++
    if (this.onSend) {
      let requests = 0
      for (const waiters of batch.values()) requests += waiters.length
      this.onSend(batch.size, requests)
    }
    let read: Promise<Map<string, TenantFreshnessAndVersion>>
    try {
      read = this.read([...batch.keys()])
    } catch (error) {
      read = Promise.reject(error)
    }
    read
      .then(
        (found) => {
          for (const [tenantId, waiters] of batch) {
            const result = found.get(tenantId)
            for (const waiter of waiters)
              if (result) waiter.resolve(result)
              else waiter.reject(new Error(`the freshness probe returned no row for a tenant`))
          }
        },
        (error: unknown) => {
          for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error)
        },
      )
      .finally(() => {
        this.#inFlight--
        this.#schedule()
      })
  }
}

/** A row of pm_tenant_freshness (migration 0012). */
export interface ProbeRow {
  tenant_id: string
  pending: number | string
  as_of: Date | string
  version: string
}

/** The statement of a probe: `$1` is the tenants' text[]. */
export const PROBE_SQL = 'select tenant_id, pending, as_of, version from pm_tenant_freshness($1)'

export function probeResults(rows: readonly ProbeRow[]): Map<string, TenantFreshnessAndVersion> {
  return new Map(rows.map((row) => [row.tenant_id, toFreshnessAndVersion(row)]))
}
