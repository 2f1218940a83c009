/**
 * @module Cluster-wide max instances: the KV bucket `<prefix>_slots` holds one key per instance
 * slot, `<functionId>.<scope>.<n>` (n < max), whose value is the holder's node id. A slot is
 * claimed with `create` (absent keys only); one held by a node no longer in membership is taken
 * over with a compare-and-set on its revision; a slot is given back (delete at its revision) when
 * its instance ends. Touched only when an instance starts or ends, never on a warm request.
 */
import type { KV } from 'nats'
import type { Logger } from '../observability/index.js'
import type { InstanceSlots, SlotHold } from './cluster-types.js'
import { isWrongRevision } from './lease.js'

/** KV keys allow `[-/_=.A-Za-z0-9]`; anything else (and '.', a separator here) is escaped. */
export function slotToken(part: string): string {
  return part.replace(/[^-_A-Za-z0-9]/g, (c) => `=${c.codePointAt(0)?.toString(16) ?? ''}`)
}

export class KvInstanceSlots implements InstanceSlots {
  readonly #kv: KV
  readonly #nodeId: string
  readonly #alive: () => Promise<Set<string>>
  readonly #log: Logger
  /** Slot key → revision of this node's claim. */
  readonly #held = new Map<string, number>()

  constructor(kv: KV, nodeId: string, alive: () => Promise<Set<string>>, log: Logger) {
    this.#kv = kv
    this.#nodeId = nodeId
    this.#alive = alive
    this.#log = log
  }

  held(): number {
    return this.#held.size
  }

  async claim(functionId: string, scope: string, max: number): Promise<SlotHold | undefined> {
    const base = `${slotToken(functionId)}.${slotToken(scope)}`
    const taken = new Set<string>()
    for await (const key of await this.#kv.keys(`${base}.*`)) {
      taken.add(key)
    }
    // Free indexes first: one create each, a lost race just moves on to the next.
    for (let n = 0; n < max; n++) {
      const key = `${base}.${n}`
      if (taken.has(key)) {
        continue
      }
      const hold = await this.#create(key)
      if (hold !== undefined) {
        return hold
      }
    }
    // Every slot has a key: a deleted one (released) can be created again, and one whose holder
    // left membership (crashed, partitioned past its heartbeat TTL) is taken over.
    let alive: Set<string> | undefined
    for (let n = 0; n < max; n++) {
      const key = `${base}.${n}`
      const entry = await this.#kv.get(key)
      if (entry === null || entry.operation !== 'PUT') {
        const hold = await this.#create(key)
        if (hold !== undefined) {
          return hold
        }
        continue
      }
      const holder = entry.string()
      alive ??= await this.#alive()
      if (holder === this.#nodeId || alive.has(holder)) {
        continue
      }
      try {
        const revision = await this.#kv.update(key, this.#nodeId, entry.revision)
        this.#log.info(
          { slot: key, from: holder },
          'took over the instance slot of a departed node',
        )
        return this.#hold(key, revision)
      } catch (err) {
        if (!isWrongRevision(err)) {
          throw err
        }
      }
    }
    return undefined
  }

  async #create(key: string): Promise<SlotHold | undefined> {
    try {
      return this.#hold(key, await this.#kv.create(key, this.#nodeId))
    } catch (err) {
      if (isWrongRevision(err)) {
        return undefined
      }
      throw err
    }
  }

  #hold(key: string, revision: number): SlotHold {
    this.#held.set(key, revision)
    let released: Promise<void> | undefined
    return {
      key,
      release: () => (released ??= this.#release(key, revision)),
    }
  }

  async #release(key: string, revision: number): Promise<void> {
    if (this.#held.get(key) === revision) {
      this.#held.delete(key)
    }
    try {
      // At our revision only: a slot taken over meanwhile (we were thought dead) stays theirs.
      await this.#kv.delete(key, { previousSeq: revision })
    } catch (err) {
      if (!isWrongRevision(err)) {
        this.#log.warn({ err, slot: key }, 'giving back an instance slot failed')
      }
    }
  }

  /** Gives back every slot this node holds (close). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#held].map(([key, revision]) => this.#release(key, revision)))
  }

  /**
   * Removes slots a previous run of this node id left (it crashed with instances up): they died
   * with it, and as long as this node is a member nobody else would take them over.
   */
  async releaseLeftovers(): Promise<number> {
    const keys: string[] = []
    for await (const key of await this.#kv.keys()) {
      keys.push(key)
    }
    let removed = 0
    for (const key of keys) {
      const entry = await this.#kv.get(key)
      if (entry?.operation === 'PUT' && entry.string() === this.#nodeId && !this.#held.has(key)) {
        try {
          await this.#kv.delete(key, { previousSeq: entry.revision })
          removed++
        } catch (err) {
          if (!isWrongRevision(err)) {
            throw err
          }
        }
      }
    }
    return removed
  }
}
