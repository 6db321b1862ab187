import { setTimeout as sleep } from 'node:timers/promises'

export interface BackgroundLoop {
  /** stops after the round in progress (if any) and resolves when it has finished */
  stop(): Promise<void>
}

/**
 * Runs `round` again and again until stopped; a round returns how long to wait before the next.
 * A failing round is reported and retried after `retryMs`, so a passing database hiccup does not
 * end the demo's freshness.
 */
export function startBackgroundLoop(
  round: () => Promise<number>,
  onError: (error: unknown) => void,
  retryMs = 5_000,
): BackgroundLoop {
  const stopping = new AbortController()
  const done = (async () => {
    while (!stopping.signal.aborted) {
      let waitMs: number
      try {
        waitMs = await round()
      } catch (error) {
        if (stopping.signal.aborted) break
        onError(error)
        waitMs = retryMs
      }
      if (stopping.signal.aborted) break
      try {
        // 0 still yields, so HTTP requests get their turn between two rounds
        await sleep(waitMs, undefined, { signal: stopping.signal })
      } catch {
        break
      }
    }
  })()
  return {
    async stop() {
      stopping.abort()
      await done
    },
  }
}
