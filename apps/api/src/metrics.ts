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
  readonly #cacheLookups = new Map<string, number>()
  /** the result cache's current size, when there is one */
  resultCacheBytes: (() => number) | undefined

  /** A lookup in the result cache for `route`: served from it (hit) or read from the database. */
  resultCacheLookup(route: string, hit: boolean): void {
    const labels = `route="${escapeLabel(route)}",result="${hit ? 'hit' : 'miss'}"`
    this.#cacheLookups.set(labels, (this.#cacheLookups.get(labels) ?? 0) + 1)
  }

  requestStarted(): void {
    this.#inFlight++
  }

  requestFinished(method: string, route: string, status: number, seconds: number): void {
    this.#inFlight--
    const labels = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`
    let series = this.#series.get(labels)
    if (!series) {
      series = { labels, count: 0, sum: 0, buckets: BUCKETS.map(() => 0) }
      this.#series.set(labels, series)
    }
    series.count++
    series.sum += seconds
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) (series.buckets[i] as number)++
    })
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
    for (const [labels, count] of this.#cacheLookups)
      lines.push(`api_result_cache_lookups_total{${labels}} ${count}`)
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
