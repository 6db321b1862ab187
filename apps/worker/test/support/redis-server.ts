import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

/** A free TCP port on localhost (closed again before it is returned). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * A redis-server of the test's own, without persistence: a test may stop, restart or flush it
 * without touching the shared Redis. Restarting gives an empty Redis on the same port.
 */
export class OwnRedis {
  private child: ChildProcess | undefined
  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<OwnRedis> {
    return OwnRedis.startOn(await freePort(), extraArgs)
  }

  static async startOn(port: number, extraArgs: string[] = []): Promise<OwnRedis> {
    const redis = new OwnRedis(port, extraArgs)
    await redis.restart()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts it (again) and waits until it answers PING. */
  async restart(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    )
    const started = Date.now()
    for (;;) {
      const client = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      })
      client.on('error', () => {})
      try {
        await client.connect()
        if ((await client.ping()) === 'PONG') return
      } catch {
        if (Date.now() - started > 10_000)
          throw new Error(`redis-server on ${this.port} did not start`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      } finally {
        client.disconnect()
      }
    }
  }

  /** A client for commands (FLUSHALL, SCAN…); the caller disconnects it. */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: 1 })
  }

  /** SHUTDOWN NOSAVE: gone at once, with all its data. */
  async shutdown(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null) return
    const exited = once(child, 'exit')
    const client = new Redis(this.url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    await client.call('SHUTDOWN', 'NOSAVE').catch(() => undefined)
    client.disconnect()
    await exited
    this.child = undefined
  }

  async stop(): Promise<void> {
    await this.shutdown().catch(() => this.child?.kill('SIGKILL'))
  }
}
