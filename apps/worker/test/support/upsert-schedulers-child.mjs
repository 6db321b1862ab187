// A process that upserts the job schedulers whenever the test says "go <prefix>" on stdin, so
// that several processes do it at the same moment (Q9). Runs the built worker code.
import { createInterface } from 'node:readline'
import { closeQueues, createQueues, createRedisConnection } from '../../dist/context.js'
import { upsertSchedulers } from '../../dist/schedulers.js'

const [redisUrl] = process.argv.slice(2)
const connection = createRedisConnection(redisUrl, 'upsert-race')
await connection.ping()
process.stdout.write('ready\n')
for await (const line of createInterface({ input: process.stdin })) {
  const [command, prefix] = line.split(' ')
  if (command !== 'go' || !prefix) break
  const queues = createQueues(connection, prefix)
  await upsertSchedulers(queues, 1_000)
  await closeQueues(queues)
  process.stdout.write(`done ${prefix}\n`)
}
connection.disconnect()
