/**
 * @module How a node of the cluster hears the other nodes' enqueues: one connection of the pool
 * kept `LISTEN`ing on the queue's channel (commits `pg_notify` it). If it breaks it is opened
 * again after a second and wakes the dispatcher, which may have missed a notification meanwhile.
 */
import type pg from 'pg'

/** Reconnecting the LISTEN connection after it broke. */
const RELISTEN_DELAY_MS = 1_000

export class PgAsyncListener {
  readonly #pool: pg.Pool
  readonly #channel: () => Promise<string>
  readonly #onNotify: () => void
  readonly #onError: (err: unknown) => void
  #client: pg.PoolClient | undefined
  #retry: NodeJS.Timeout | undefined
  #closed = false

  constructor(
    pool: pg.Pool,
    channel: () => Promise<string>,
    onNotify: () => void,
    onError: (err: unknown) => void,
  ) {
    this.#pool = pool
    this.#channel = channel
    this.#onNotify = onNotify
    this.#onError = onError
  }

  /** Listens; on failure tries again later (and rejects: the caller reports it). */
  async start(): Promise<void> {
    try {
      await this.#listen()
    } catch (err) {
      // Enqueues still commit and the dispatcher still polls: only the wake-up waits.
      this.#retryLater()
      throw err
    }
  }

  async #listen(): Promise<void> {
    const channel = await this.#channel()
    const client = await this.#pool.connect()
    if (this.#closed) {
      client.release()
      return
    }
    client.on('notification', (message) => {
      if (message.channel === channel) {
        this.#onNotify()
      }
    })
    client.on('error', (err) => {
      this.#onError(err)
      if (this.#client === client) {
        this.#drop(true)
      }
      this.#retryLater()
    })
    try {
      await client.query(`listen "${channel.replaceAll('"', '""')}"`)
    } catch (err) {
      client.release(true)
      throw err
    }
    this.#client = client
  }

  #retryLater(): void {
    if (this.#closed || this.#retry !== undefined) {
      return
    }
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      // What was enqueued while it was away would be missed: wake after listening again.
      this.#listen().then(
        () => this.#onNotify(),
        (e: unknown) => {
          this.#onError(e)
          this.#retryLater()
        },
      )
    }, RELISTEN_DELAY_MS)
    this.#retry.unref()
  }

  #drop(broken: boolean): void {
    const client = this.#client
    this.#client = undefined
    // Destroyed rather than returned: a pooled connection must not keep listening.
    client?.release(broken ? new Error('LISTEN connection closed') : true)
  }

  close(): void {
    this.#closed = true
    if (this.#retry !== undefined) {
      clearTimeout(this.#retry)
    }
    this.#drop(false)
  }
}
