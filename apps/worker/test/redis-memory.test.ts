import { Worker } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consumerOptions } from '../src/consumers.js'
import { closeQueues, createQueues, createRedisConnection } from '../src/context.js'
import { readWorkerConfig } from '../src/env.js'
import { EVENTS_MAX_LEN, QUEUE_NAMES, type Queues, requestDrains } from '../src/queues.js'
import { waitFor } from './support/analytics-database.js'
import { OwnRedis } from './support/redis-server.js'
import { figure } from './support/run-size.js'

// Q8: 100,000 jobs (see JOBS_PER_CYCLE) through the queues as they ship (job options, event-stream bound, consumer
// options), on a redis-server of the test's own so that its memory is the queues' alone. The
// processor does nothing: what is measured is what BullMQ keeps in Redis, not the recompute.
// Every job has its own deduplication id (a tenant), as drains of ever-new tenants and the seed's
// jobs of ever-new days do: a deduplication key left behind per job would show as growth.
// "Events stream ≤ maxLen" holds up to Redis' approximate trimming (see streamNodeMaxEntries).

const CYCLES = 10
/**
 * 10,000 in the spec (100,000 jobs); the default suite runs 2,000 a cycle (PM_RELIABILITY_FULL=1
 * for 10,000). Either way the bounds are full from cycle 2 on: 1,000 completed jobs kept, and
 * about four events a job against a stream of 10,000.
 */
const JOBS_PER_CYCLE = figure(2_000, 10_000)
const ADD_CHUNK = 1_000
/** only for speed: how many jobs the test's consumer runs at once changes nothing kept in Redis */
const CONCURRENCY = 100

let redis: OwnRedis
let queues: Queues
let consumer: Worker
const connection = () => createRedisConnection(redis.url, 'memory-test')
let queueConnection: ReturnType<typeof connection>

beforeAll(async () => {
  redis = await OwnRedis.start()
  queueConnection = connection()
  const config = readWorkerConfig({ REDIS_URL: redis.url, LOG_LEVEL: 'silent' })
  queues = createQueues(queueConnection, config.queuePrefix)
  consumer = new Worker(QUEUE_NAMES.drain, async () => undefined, {
    ...consumerOptions(config, connection(), 'drain'),
    concurrency: CONCURRENCY,
  })
})

afterAll(async () => {
  await consumer?.close()
  if (queues) await closeQueues(queues)
  queueConnection?.disconnect()
  await redis?.stop()
})

/**
 * BullMQ trims its event streams with XADD MAXLEN ~ (approximate): Redis removes whole stream nodes
 * only, so a stream may hold up to one node (stream-node-max-entries) more than maxLen.
 */
async function streamNodeMaxEntries(): Promise<number> {
  const client = redis.client()
  try {
    const [, value] = (await client.config('GET', 'stream-node-max-entries')) as string[]
    return Number(value)
  } finally {
    client.disconnect()
  }
}

interface Sample {
  keys: number
  usedMemory: number
  /** of which the clients' buffers */
  clientBuffers: number
  eventsLength: number
  completed: number
}

/**
 * Redis frees a client's grown query buffer (an addBulk of 1,000 jobs is a few hundred KB) only
 * once the client has been idle for 2 s: sampling right after a cycle would count that transient.
 */
const IDLE_BEFORE_SAMPLE_MS = 2_500

async function sample(): Promise<Sample> {
  await new Promise((resolve) => setTimeout(resolve, IDLE_BEFORE_SAMPLE_MS))
  const client = redis.client()
  try {
    const info = await client.info('memory')
    const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1])
    const clientBuffers = Number(/^mem_clients_normal:(\d+)/m.exec(info)?.[1])
    const keys = await client.dbsize()
    const eventsLength = await client.xlen(`${queues.drain.qualifiedName}:events`)
    const completed = await queues.drain.getCompletedCount()
    return { keys, usedMemory, clientBuffers, eventsLength, completed }
  } finally {
    client.disconnect()
  }
}

describe('what the queues keep in Redis', () => {
  it(`${CYCLES * JOBS_PER_CYCLE} jobs: key count and used_memory plateau, events stream within maxLen (Q8)`, {
    timeout: 600_000,
  }, async () => {
    const samples: Sample[] = []
    const started = performance.now()
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      for (let i = 0; i < JOBS_PER_CYCLE; i += ADD_CHUNK) {
        const tenants = Array.from(
          { length: ADD_CHUNK },
          (_, j) => `t-q8-${cycle}-${String(i + j).padStart(5, '0')}`,
        )
        await requestDrains(queues, tenants)
      }
      await waitFor(
        `cycle ${cycle + 1}: every job completed`,
        async () => {
          const c = await queues.drain.getJobCounts('wait', 'active', 'delayed', 'prioritized')
          return Object.values(c).every((n) => n === 0)
        },
        120_000,
        200,
      )
      samples.push(await sample())
    }
    const seconds = (performance.now() - started) / 1000
    const table = samples
      .map(
        (s, i) =>
          `  after cycle ${i + 1}: ${s.keys} keys, used_memory ${(s.usedMemory / 1024 / 1024).toFixed(2)} MiB (clients ${Math.round(s.clientBuffers / 1024)} KiB), events ${s.eventsLength}, completed kept ${s.completed}`,
      )
      .join('\n')
    console.info(
      `redis memory: ${CYCLES * JOBS_PER_CYCLE} jobs in ${seconds.toFixed(1)} s\n${table}`,
    )
    const slack = await streamNodeMaxEntries()
    console.info(
      `redis memory: events stream at most ${Math.max(...samples.map((s) => s.eventsLength))} entries (maxLen ${EVENTS_MAX_LEN}, approximate trimming by nodes of ${slack})`,
    )
    const second = samples[1] as Sample
    const last = samples[CYCLES - 1] as Sample
    expect(last.keys).toBeLessThanOrEqual(second.keys * 1.05)
    expect(last.usedMemory).toBeLessThanOrEqual(second.usedMemory * 1.05)
    for (const s of samples) {
      expect(s.eventsLength).toBeLessThanOrEqual(EVENTS_MAX_LEN + slack)
      expect(s.completed).toBeLessThanOrEqual(1_000)
    }
    // what plateaus is the bounded set: the last 1,000 completed jobs, not 100,000
    expect(last.keys).toBeLessThan(2 * 1_000 + 100)
  })
})
