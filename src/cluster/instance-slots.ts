/**
 * @module Cluster-wide max instances: the KV bucket `<prefix>_slots` holds one key per instance
 * slot, `<functionId>.<n>` (n < max; all versions of a function share its slots, as they share its
 * local cap), whose value is the holder's node id. A slot is claimed with `create` (absent keys
 * only); one held by a node no longer in membership is taken over with a compare-and-set on its
 * revision; a slot is given back (delete at its revision) when its instance ends. Touched only when
 * an instance starts or ends, never on a warm request, plus a sweep every half minute that gives
 * back what a failed NATS call left with this node (a release that failed, a claim whose reply was
 * lost).
 */
import type { KV, KvEntry } from 'nats'
import type { Logger } from '../observability/index.js'
import type { InstanceSlots, SlotHold } from './cluster-types.js'
import { isWrongRevision } from './lease.js'

/** KV keys allow `[-/_=.A-Za-z0-9]`; anything else (and '.', a separator here) is escaped. */
export function slotToken(part: string): string {
  return part.replace(/[^-_A-Za-z0-9]/g, (c) => `=${c.codePointAt(0)?.toString(16) ?? ''}`)
}

/** How often failed releases are retried and this node's orphan slot keys removed. */
export const SLOT_SWEEP_MS = 30_000

/** How long a sweep may take to read the bucket before it gives up (and the next one tries). */
const SWEEP_READ_MS = 10_000

/** Test seam: the KV calls that write, so a test can make one fail as a NATS timeout would. */
export interface SlotKvWrites {
  create(kv: KV, key: string, value: string): Promise<number>
  delete(kv: KV, key: string, revision: number): Promise<void>
}

const KV_WRITES: SlotKvWrites = {
  create: (kv, key, value) => kv.create(key, value),
  delete: (kv, key, revision) => kv.delete(key, { previousSeq: revision }),
}

export interface KvInstanceSlotsOptions {
  readonly sweepMs?: number
  readonly writes?: SlotKvWrites
}

export class KvInstanceSlots implements InstanceSlots {
  readonly #kv: KV
  readonly #nodeId: string
  readonly #alive: () => Promise<Set<string>>
  readonly #log: Logger
  readonly #writes: SlotKvWrites
  readonly #sweepMs: number
  /** Slot key → revision of this node's claim. */
  readonly #held = new Map<string, number>()
  /**
   * Slot key → revision of releases whose delete failed (NATS timed out): the key still names this
   * live node, so nobody would ever take it over. Retried on reconnect, by the sweep and at close.
   */
  readonly #unreleased = new Map<string, number>()
  /** Functions (key prefixes) with a claim in flight: a key it created may not be held yet. */
  readonly #claiming = new Map<string, number>()
  #sweepTimer: NodeJS.Timeout | undefined
  #sweeping: Promise<number> | undefined

  constructor(
    kv: KV,
    nodeId: string,
    alive: () => Promise<Set<string>>,
    log: Logger,
    options: KvInstanceSlotsOptions = {},
  ) {
    this.#kv = kv
    this.#nodeId = nodeId
    this.#alive = alive
    this.#log = log
    this.#writes = options.writes ?? KV_WRITES
    this.#sweepMs = options.sweepMs ?? SLOT_SWEEP_MS
  }

  held(): number {
    return this.#held.size
  }

  /** Releases that failed and wait for a retry (for tests and info). */
  unreleased(): number {
    return this.#unreleased.size
  }

  /** Starts the periodic sweep (`sweep()`); `stopSweeping()` ends it. */
  startSweeping(): void {
    if (this.#sweepTimer !== undefined) {
      return
    }
    this.#sweepTimer = setInterval(() => {
      this.sweep().catch((err: unknown) =>
        this.#log.warn({ err }, 'sweeping instance slots failed'),
      )
    }, this.#sweepMs)
    this.#sweepTimer.unref()
  }

  stopSweeping(): void {
    clearInterval(this.#sweepTimer)
    this.#sweepTimer = undefined
  }

  async claim(functionId: string, max: number): Promise<SlotHold | undefined> {
    const base = slotToken(functionId)
    this.#claiming.set(base, (this.#claiming.get(base) ?? 0) + 1)
    try {
      return await this.#claim(base, max)
    } finally {
      const n = (this.#claiming.get(base) ?? 1) - 1
      if (n <= 0) {
        this.#claiming.delete(base)
      } else {
        this.#claiming.set(base, n)
      }
    }
  }

  async #claim(base: string, max: number): Promise<SlotHold | undefined> {
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
      // A create that landed but whose reply was lost leaves a key of this node that is not held:
      // the sweep removes it.
      return this.#hold(key, await this.#writes.create(this.#kv, key, this.#nodeId))
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
    if (!(await this.#delete(key, revision))) {
      this.#unreleased.set(key, revision)
      this.#log.warn({ slot: key }, 'giving back an instance slot failed; it is retried')
    }
  }

  /** Deletes at our revision only: a slot taken over meanwhile stays theirs. False: NATS failed. */
  async #delete(key: string, revision: number): Promise<boolean> {
    try {
      await this.#writes.delete(this.#kv, key, revision)
      return true
    } catch (err) {
      if (isWrongRevision(err)) {
        return true // taken over, or already gone: nothing of ours to give back
      }
      this.#log.debug({ err, slot: key }, 'deleting an instance slot failed')
      return false
    }
  }

  /** Retries the releases that failed (on reconnect, by the sweep, at close). */
  async retryReleases(): Promise<void> {
    await Promise.all(
      [...this.#unreleased].map(async ([key, revision]) => {
        if ((await this.#delete(key, revision)) && this.#unreleased.get(key) === revision) {
          this.#unreleased.delete(key)
        }
      }),
    )
  }

  /** Gives back every slot this node holds, and retries the releases that failed (close). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#held].map(([key, revision]) => this.#release(key, revision)))
    await this.retryReleases()
  }

  /**
   * Removes slots a previous run of this node id left (it crashed with instances up): they died
   * with it, and as long as this node is a member nobody else would take them over.
   */
  releaseLeftovers(): Promise<number> {
    return this.sweep()
  }

  /**
   * Retries failed releases, then deletes every key naming this node that it neither holds nor
   * may be about to hold (a claim of that function in flight): left by a previous run, by a
   * release that failed, or by a create whose reply was lost. Returns how many were removed.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined
    })
    return this.#sweeping
  }

  async #sweep(): Promise<number> {
    await this.retryReleases()
    let removed = 0
    for (const entry of await this.#entries()) {
      if (
        entry.operation !== 'PUT' ||
        entry.string() !== this.#nodeId ||
        this.#held.has(entry.key) ||
        this.#claiming.has(entry.key.slice(0, entry.key.lastIndexOf('.')))
      ) {
        continue
      }
      if (await this.#delete(entry.key, entry.revision)) {
        removed++
      }
    }
    if (removed > 0) {
      this.#log.info({ slots: removed }, 'gave back instance slots no instance of this node holds')
    }
    return removed
  }

  /**
   * The latest entry of every key, in one ordered consumer (not one get per key). Gives up after
   * `SWEEP_READ_MS` (NATS gone mid-read): a sweep that never ended would block every later one.
   */
  async #entries(): Promise<KvEntry[]> {
    const entries: KvEntry[] = []
    let initialized: () => void = () => undefined
    const done = new Promise<void>((resolve) => {
      initialized = resolve
    })
    const watch = await this.#kv.watch({ key: '>', initializedFn: () => initialized() })
    const reading = (async () => {
      for await (const entry of watch) {
        entries.push(entry)
      }
    })()
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), SWEEP_READ_MS)
    })
    try {
      if (await Promise.race([done.then(() => false), timedOut])) {
        throw new Error('reading the instance slots timed out')
      }
    } finally {
      clearTimeout(timer)
      watch.stop()
    }
    await reading
    return entries
  }
}
