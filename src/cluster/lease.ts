/**
 * @module A leadership lease in the KV bucket `<prefix>_leases` (ADR 0027). A follower tries
 * `create(name)` (succeeds only when the key is absent: never held, released, or expired by the
 * bucket's max age); the holder renews with `update(name, revision)` (compare-and-set: fails if
 * anyone else wrote the key). The revision at the take is the fencing token: it only grows.
 *
 * Safety: the server ages an entry from when it stored it, which is after the holder sent the
 * write, so the key cannot expire before `sentAt + ttl`. The holder counts itself leader only
 * until `sentAt + stepDownAfterMs` (< ttl) of its last acknowledged write, so it steps down
 * before anybody else can take the key.
 */
import type { KV } from 'nats'
import type { Logger } from '../observability/index.js'
import type { Leadership } from './cluster-types.js'

export interface LeaseTimings {
  /** The bucket's max age: an unrenewed lease is free after this long. */
  readonly ttlMs: number
  /** How often the holder renews and a follower tries to take it. */
  readonly renewMs: number
  /** After this long without an acknowledged renewal the holder steps down (< ttlMs). */
  readonly stepDownAfterMs: number
}

interface LeaseValue {
  readonly nodeId: string
  readonly takenAt: number
}

export class Lease implements Leadership {
  readonly name: string
  readonly #kv: KV
  readonly #nodeId: string
  readonly #t: LeaseTimings
  readonly #log: Logger
  readonly #listeners = new Set<(isLeader: boolean) => void>()
  /** The revision of this node's last acknowledged write, while it leads. */
  #revision: number | undefined
  /**
   * After stepping down for want of a timely renewal: the revision of our last write. While the
   * key still holds it nobody else took the lease, so a CAS on it takes the lease back at once
   * (rather than waiting for our own stale entry to expire).
   */
  #stale: number | undefined
  #token: number | undefined
  /** When the last acknowledged write was sent (monotonic clock). */
  #sentAt = 0
  #leader = false
  #timer: NodeJS.Timeout | undefined
  #watchdog: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #closed = false

  constructor(kv: KV, name: string, nodeId: string, timings: LeaseTimings, log: Logger) {
    this.#kv = kv
    this.name = name
    this.#nodeId = nodeId
    this.#t = timings
    this.#log = log
  }

  /** Starts competing: one attempt now, then one per `renewMs`. */
  start(): void {
    this.#tick()
    this.#timer = setInterval(() => this.#tick(), this.#t.renewMs)
    this.#timer.unref()
    // Checked more often than the renewals, so a holder stuck on a slow write still steps down in time.
    this.#watchdog = setInterval(() => this.#checkExpiry(), Math.max(50, this.#t.renewMs / 4))
    this.#watchdog.unref()
  }

  isLeader(): boolean {
    return this.#leader && performance.now() - this.#sentAt < this.#t.stepDownAfterMs
  }

  token(): number | undefined {
    return this.isLeader() ? this.#token : undefined
  }

  onChange(listener: (isLeader: boolean) => void): () => void {
    this.#listeners.add(listener)
    listener(this.isLeader())
    return () => this.#listeners.delete(listener)
  }

  async holder(): Promise<{ nodeId: string; revision: number } | undefined> {
    const entry = await this.#kv.get(this.name)
    if (entry === null || entry.operation !== 'PUT') {
      return undefined
    }
    return { nodeId: entry.json<LeaseValue>().nodeId, revision: entry.revision }
  }

  #tick(): void {
    if (this.#closed || this.#running !== undefined) {
      return
    }
    this.#running = this.#attempt()
      .catch((err: unknown) => this.#log.warn({ err, lease: this.name }, 'lease attempt failed'))
      .finally(() => (this.#running = undefined))
  }

  async #attempt(): Promise<void> {
    const sentAt = performance.now()
    const value = JSON.stringify({ nodeId: this.#nodeId, takenAt: Date.now() } satisfies LeaseValue)
    if (this.#leader && this.#revision !== undefined) {
      try {
        const revision = await this.#kv.update(this.name, value, this.#revision)
        if (!this.#leader) {
          // Stepped down while the write was on its way: it is ours still, to take back by CAS.
          this.#stale = revision
          return
        }
        this.#revision = revision
        this.#sentAt = sentAt
      } catch (err) {
        if (isWrongRevision(err)) {
          // Someone else wrote the key: it expired and was taken. Not ours any more.
          this.#stepDown('lease taken by another node')
          return
        }
        throw err
      }
      this.#checkExpiry()
      return
    }
    let revision: number
    try {
      revision =
        this.#stale === undefined
          ? await this.#kv.create(this.name, value)
          : await this.#kv.update(this.name, value, this.#stale)
    } catch (err) {
      if (isWrongRevision(err)) {
        // Held by another node (or, after a stale retake failed, by whoever wrote since).
        this.#stale = undefined
        return
      }
      throw err
    }
    this.#stale = undefined
    if (this.#closed) {
      await this.#release(revision)
      return
    }
    if (performance.now() - sentAt >= this.#t.stepDownAfterMs) {
      // The answer came so late that the key may already be free for others: not a term. It is
      // ours to take back by CAS on the next attempt if nobody wrote since.
      this.#stale = revision
      return
    }
    this.#revision = revision
    this.#token = revision
    this.#sentAt = sentAt
    this.#leader = true
    this.#log.info({ lease: this.name, token: revision }, 'this node took the lease')
    this.#emit(true)
  }

  #checkExpiry(): void {
    if (this.#leader && performance.now() - this.#sentAt >= this.#t.stepDownAfterMs) {
      const revision = this.#revision
      this.#stepDown('lease not renewed in time')
      this.#stale = revision
    }
  }

  #stepDown(why: string): void {
    if (!this.#leader) {
      return
    }
    this.#leader = false
    this.#revision = undefined
    this.#token = undefined
    this.#log.warn({ lease: this.name, why }, 'this node stepped down')
    this.#emit(false)
  }

  #emit(isLeader: boolean): void {
    for (const listener of this.#listeners) {
      try {
        listener(isLeader)
      } catch (err) {
        this.#log.error({ err, lease: this.name }, 'a leadership listener failed')
      }
    }
  }

  async #release(revision: number): Promise<void> {
    try {
      // Only our own write is removed: a lease taken meanwhile has a newer revision.
      await this.#kv.delete(this.name, { previousSeq: revision })
    } catch (err) {
      if (!isWrongRevision(err)) {
        this.#log.warn({ err, lease: this.name }, 'releasing the lease failed; it expires')
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return
    }
    this.#closed = true
    clearInterval(this.#timer)
    clearInterval(this.#watchdog)
    await this.#running
    const revision = this.#leader ? this.#revision : this.#stale
    this.#stale = undefined
    this.#stepDown('leaving')
    if (revision !== undefined) {
      await this.#release(revision)
    }
  }
}

/** The KV's compare-and-set refusal (JetStream 10071, "wrong last sequence"): contention, not a failure. */
export function isWrongRevision(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) {
    return false
  }
  const apiError = (err as { api_error?: { err_code?: unknown } }).api_error
  if (apiError?.err_code === 10071) {
    return true
  }
  return err instanceof Error && /wrong last sequence/i.test(err.message)
}
