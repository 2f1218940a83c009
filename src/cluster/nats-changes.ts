/**
 * @module ClusterChanges over NATS core subjects `<prefix>.changes.<topic>`: at most once, quick,
 * nothing stored. Each message names its sender, so a node never hears its own announcements; a
 * reconnect (messages may have been missed) tells every `onResync` listener to drop its caches.
 */
import { JSONCodec, type NatsConnection } from 'nats'
import type { ClusterChanges } from '../core/index.js'
import type { Logger } from '../observability/index.js'

interface ChangeMessage {
  readonly from: string
  readonly key?: string
}

const codec = JSONCodec<ChangeMessage>()

/** A subject token may not hold '.', '*', '>' or white space: topics are kept to a safe set. */
function subjectOf(prefix: string, topic: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(topic)) {
    throw new Error(`Cluster change topic '${topic}' must be letters, digits, '-' and '_'.`)
  }
  return `${prefix}.changes.${topic}`
}

export class NatsChanges implements ClusterChanges {
  readonly #nc: NatsConnection
  readonly #prefix: string
  readonly #nodeId: string
  readonly #log: Logger
  readonly #resync: Array<() => void> = []

  constructor(nc: NatsConnection, prefix: string, nodeId: string, log: Logger) {
    this.#nc = nc
    this.#prefix = prefix
    this.#nodeId = nodeId
    this.#log = log
  }

  publish(topic: string, key?: string): void {
    try {
      const message: ChangeMessage =
        key === undefined ? { from: this.#nodeId } : { from: this.#nodeId, key }
      this.#nc.publish(subjectOf(this.#prefix, topic), codec.encode(message))
    } catch (err) {
      // Never throws to the writer: the change committed; others resync on their next reconnect.
      this.#log.warn({ err, topic }, 'announcing a change to the cluster failed')
    }
  }

  subscribe(topic: string, listener: (key: string | undefined) => void): void {
    this.#nc.subscribe(subjectOf(this.#prefix, topic), {
      callback: (err, msg) => {
        if (err !== null) {
          this.#log.warn({ err, topic }, 'cluster change subscription failed')
          return
        }
        let message: ChangeMessage
        try {
          message = codec.decode(msg.data)
        } catch {
          return // not ours: ignored
        }
        if (message.from === this.#nodeId) {
          return
        }
        try {
          listener(message.key)
        } catch (listenerErr) {
          this.#log.error({ err: listenerErr, topic }, 'a cluster change listener failed')
        }
      },
    })
  }

  onResync(listener: () => void): void {
    this.#resync.push(listener)
  }

  /** Called by the cluster on a reconnect. */
  resync(): void {
    for (const listener of this.#resync) {
      try {
        listener()
      } catch (err) {
        this.#log.error({ err }, 'a cluster resync listener failed')
      }
    }
  }
}
