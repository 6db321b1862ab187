/**
 * Prometheus metrics of the HTTP server, in the text exposition format: a request counter and a
 * latency histogram by method, route pattern (never the raw path, which would explode the label
 * set) and status.
 */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

interface Series {
  labels: string
  count: number
  sum: number
  buckets: number[]
}

export class HttpMetrics {
  readonly #series = new Map<string, Series>()
  #inFlight = 0
  readonly #cacheLookups = new Map<string, { labels: string; count: number }>()
  /** the result cache's current size, when there is one */
  resultCacheBytes: (() => number) | undefined

  /** A lookup in the result cache for `route`: served from it (hit) or read from the database. */
  resultCacheLookup(route: string, hit: boolean): void {
    // keyed by the raw values: the escaped label text is built once per series, not per request
    const key = `${route}\n${hit}`
    const lookups = this.#cacheLookups.get(key)
    if (lookups) lookups.count++
    else
      this.#cacheLookups.set(key, {
        labels: `route="${escapeLabel(route)}",result="${hit ? 'hit' : 'miss'}"`,
        count: 1,
      })
  }

  #probes = { sent: 0, tenants: 0, requests: 0 }

  /** A live freshness probe sent for `requests` result cache lookups of `tenants` tenants. */
  freshnessProbeSent(tenants: number, requests: number): void {
    this.#probes.sent++
    this.#probes.tenants += tenants
    this.#probes.requests += requests
  }

  requestStarted(): void {
    this.#inFlight++
  }

  requestFinished(method: string, route: string, status: number, seconds: number): void {
    this.#inFlight--
    const key = `${method}\n${route}\n${status}`
    let series = this.#series.get(key)
    if (!series) {
      const labels = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`
      series = { labels, count: 0, sum: 0, buckets: BUCKETS.map(() => 0) }
      this.#series.set(key, series)
    }
    series.count++
    series.sum += seconds
    for (let i = 0; i < BUCKETS.length; i++)
      if (seconds <= (BUCKETS[i] as number)) (series.buckets[i] as number)++
  }

  get inFlight(): number {
    return this.#inFlight
  }

  render(): string {
    const lines = [
      '# HELP http_requests_total HTTP requests answered, by method, route and status.',
      '# TYPE http_requests_total counter',
    ]
    for (const s of this.#series.values()) lines.push(`http_requests_total{${s.labels}} ${s.count}`)
    lines.push(
      '# HELP http_request_duration_seconds Time from request to response headers.',
      '# TYPE http_request_duration_seconds histogram',
    )
    for (const s of this.#series.values()) {
      BUCKETS.forEach((le, i) => {
        lines.push(`http_request_duration_seconds_bucket{${s.labels},le="${le}"} ${s.buckets[i]}`)
      })
      lines.push(`http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`)
      lines.push(`http_request_duration_seconds_sum{${s.labels}} ${s.sum}`)
      lines.push(`http_request_duration_seconds_count{${s.labels}} ${s.count}`)
    }
    lines.push(
      '# HELP http_requests_in_flight Requests being answered now.',
      '# TYPE http_requests_in_flight gauge',
      `http_requests_in_flight ${this.#inFlight}`,
      '# HELP api_result_cache_lookups_total Cacheable tenant reads, by route and result (hit: served from the result cache).',
      '# TYPE api_result_cache_lookups_total counter',
    )
    for (const { labels, count } of this.#cacheLookups.values())
      lines.push(`api_result_cache_lookups_total{${labels}} ${count}`)
    lines.push(
      '# HELP api_freshness_probes_total Live freshness and data version reads sent for result cache lookups (one serves every lookup waiting when it is sent).',
      '# TYPE api_freshness_probes_total counter',
      `api_freshness_probes_total ${this.#probes.sent}`,
      '# HELP api_freshness_probe_tenants_total Tenants read by those probes, summed.',
      '# TYPE api_freshness_probe_tenants_total counter',
      `api_freshness_probe_tenants_total ${this.#probes.tenants}`,
      '# HELP api_freshness_probe_lookups_total Result cache lookups answered by those probes.',
      '# TYPE api_freshness_probe_lookups_total counter',
      `api_freshness_probe_lookups_total ${this.#probes.requests}`,
    )
    if (this.resultCacheBytes)
      lines.push(
        '# HELP api_result_cache_bytes Bytes held by the result cache.',
        '# TYPE api_result_cache_bytes gauge',
        `api_result_cache_bytes ${this.resultCacheBytes()}`,
      )
    return `${lines.join('\n')}\n`
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
