import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { QUEUE_NAMES } from '../src/queues.js'
import { SCHEDULER_IDS } from '../src/schedulers.js'
import { SHARED_REDIS_URL, uniquePrefix } from './support/queue-prefix.js'
import { deleteKeysUnder } from './support/redis-keys.js'

// Q9: four processes upsert the job schedulers at the same moment, 20 times: exactly one
// scheduler per id and at most one pending job per scheduler every time.

const ROUNDS = 20
const PROCESSES = 4
const CHILD = fileURLToPath(new URL('./support/upsert-schedulers-child.mjs', import.meta.url))
const base = uniquePrefix('race').slice(0, -1)
const prefixes = Array.from({ length: ROUNDS }, (_, r) => `${base}-${r}}`)
const redis = new Redis(SHARED_REDIS_URL)

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeysUnder(redis, prefix)
  redis.disconnect()
})

/** A child's stdout lines, awaited one by one. */
function lines(child: ChildProcess) {
  const seen: string[] = []
  let pending = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk
    const parts = pending.split('\n')
    pending = parts.pop() ?? ''
    seen.push(...parts)
  })
  return async (expected: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    while (!seen.includes(expected)) {
      if (Date.now() > deadline)
        throw new Error(`no "${expected}" from the child: ${seen.join(' | ')}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

describe('job scheduler upserts', () => {
  it(`${PROCESSES} processes upserting at once, ${ROUNDS} times: exactly one scheduler per id`, async () => {
    const children = Array.from({ length: PROCESSES }, () =>
      spawn(process.execPath, [CHILD, SHARED_REDIS_URL], { stdio: ['pipe', 'pipe', 'inherit'] }),
    )
    const expectLine = children.map(lines)
    try {
      await Promise.all(expectLine.map((expect) => expect('ready', 60_000)))
      for (const prefix of prefixes) {
        // the same tick of the event loop: the four upserts race in Redis
        for (const child of children) child.stdin?.write(`go ${prefix}\n`)
        await Promise.all(expectLine.map((expect) => expect(`done ${prefix}`)))
        const queue = new Queue(QUEUE_NAMES.scheduled, { connection: redis, prefix })
        try {
          const schedulers = await queue.getJobSchedulers()
          expect(schedulers.map((s) => s.key).sort(), prefix).toEqual(
            Object.values(SCHEDULER_IDS).sort(),
          )
          const pending = await queue.getJobs(['delayed', 'wait', 'prioritized', 'active'])
          const perScheduler = new Map<string, number>()
          for (const job of pending) {
            const id = String(job.repeatJobKey)
            perScheduler.set(id, (perScheduler.get(id) ?? 0) + 1)
          }
          expect([...perScheduler.keys()].sort(), prefix).toEqual(
            Object.values(SCHEDULER_IDS).sort(),
          )
          expect(Math.max(...perScheduler.values()), prefix).toBe(1)
        } finally {
          await queue.close()
        }
      }
    } finally {
      for (const child of children) child.stdin?.end()
    }
  })
})
