/**
 * @module Membership: every node puts its entry in the KV bucket `<prefix>_members` every
 * heartbeat; the bucket's max age (a few heartbeats) removes the entry of a node that stopped.
 * NATS 2.9 has no per-key TTL, so the bucket-level age is what expires members.
 */
import type { KV } from 'nats'
import type { Logger } from '../observability/index.js'
import type { MemberInfo } from './cluster-types.js'

export class Membership {
  readonly #kv: KV
  readonly #log: Logger
  readonly #heartbeatMs: number
  #self: MemberInfo
  #timer: NodeJS.Timeout | undefined
  #beating: Promise<void> | undefined

  constructor(kv: KV, self: MemberInfo, heartbeatMs: number, log: Logger) {
    this.#kv = kv
    this.#self = self
    this.#heartbeatMs = heartbeatMs
    this.#log = log
  }

  /** Puts this node's entry now, then every heartbeat. */
  async join(): Promise<void> {
    await this.#beat()
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat()
        .catch((err: unknown) => this.#log.warn({ err }, 'cluster heartbeat failed'))
        .finally(() => (this.#beating = undefined))
    }, this.#heartbeatMs)
    this.#timer.unref()
  }

  async #beat(): Promise<void> {
    this.#self = { ...this.#self, heartbeatAt: Date.now() }
    await this.#kv.put(this.#self.nodeId, JSON.stringify(this.#self))
  }

  async setDraining(): Promise<void> {
    this.#self = { ...this.#self, draining: true }
    await this.#beat()
  }

  get draining(): boolean {
    return this.#self.draining
  }

  async members(): Promise<MemberInfo[]> {
    // A set: the key listing can name a key twice when it is written while being listed
    // (heartbeats every second), seen as a node listed twice.
    const keys = new Set<string>()
    for await (const key of await this.#kv.keys()) {
      keys.add(key)
    }
    const members: MemberInfo[] = []
    for (const key of keys) {
      const entry = await this.#kv.get(key)
      if (entry !== null && entry.operation === 'PUT') {
        try {
          members.push(entry.json<MemberInfo>())
        } catch {
          // not an entry of ours: ignored
        }
      }
    }
    return members.sort((a, b) => a.nodeId.localeCompare(b.nodeId))
  }

  /** Stops heartbeating and removes this node's entry (others see it gone at once). */
  async leave(): Promise<void> {
    clearInterval(this.#timer)
    await this.#beating
    await this.#kv.purge(this.#self.nodeId)
  }
}
