/**
 * @module LeaderOnlySource: runs a trigger source on one node of a cluster at a time. Sources that
 * read a shared feed with cursors (timers, CTS, LTS) would fire every event once per node if every
 * node ran them; wrapped, a fresh inner source starts when this node becomes leader and stops when
 * it loses the lease. A term's inner source loads the triggers and their cursors anew, so the new
 * leader carries on where the cursors say (timers catch up their latest missed tick; a tick fired
 * twice across a takeover has one derived request id, which the async queue takes once).
 */
import type {
  TriggerChange,
  TriggerEventData,
  TriggerTargetCheck,
  TriggerTypeCode,
} from '../core/index.js'
import type { TriggerSource, TriggerSourceContext } from './trigger-source.js'

/** What the wrapper needs of a leadership lease (cluster's `Leadership` has it). */
export interface LeadershipSignal {
  /** Calls `listener` at once with the current state, then on every change; returns an unsubscribe. */
  onChange(listener: (isLeader: boolean) => void): () => void
}

export class LeaderOnlySource implements TriggerSource {
  readonly types: readonly TriggerTypeCode[]
  readonly #make: () => TriggerSource
  /** Serves `types`, `parseEventData` and `checkTarget` on every node, leader or not. */
  readonly #prototype: TriggerSource
  readonly #leadership: LeadershipSignal
  #ctx: TriggerSourceContext | undefined
  #inner: TriggerSource | undefined
  #unsubscribe: (() => void) | undefined
  /** Starts and stops in the order leadership changed; never two inner sources at once. */
  #transitions: Promise<void> = Promise.resolve()
  #leader = false
  /** The inner source's target check, when it has one. */
  readonly checkTarget?: (trigger: TriggerTargetCheck) => Promise<void>

  constructor(make: () => TriggerSource, leadership: LeadershipSignal) {
    this.#make = make
    this.#prototype = make()
    this.types = this.#prototype.types
    this.#leadership = leadership
    const check = this.#prototype.checkTarget?.bind(this.#prototype)
    if (check !== undefined) {
      this.checkTarget = check
    }
  }

  parseEventData(typeCode: TriggerTypeCode, raw: unknown): TriggerEventData {
    return this.#prototype.parseEventData(typeCode, raw)
  }

  /** Whether this node runs the inner source now (tests, info). */
  get running(): boolean {
    return this.#inner !== undefined
  }

  start(ctx: TriggerSourceContext): Promise<void> {
    this.#ctx = ctx
    this.#unsubscribe = this.#leadership.onChange((isLeader) => this.#follow(isLeader))
    // The first term (if leader at once) has started before start() resolves.
    return this.#transitions
  }

  #follow(isLeader: boolean): void {
    if (isLeader === this.#leader) {
      return
    }
    this.#leader = isLeader
    this.#transitions = this.#transitions.then(() =>
      isLeader ? this.#startTerm() : this.#endTerm(),
    )
  }

  async #startTerm(): Promise<void> {
    const ctx = this.#ctx
    if (ctx === undefined || this.#inner !== undefined || !this.#leader) {
      return
    }
    const inner = this.#make()
    this.#inner = inner
    try {
      await inner.start(ctx)
      ctx.logger.info({ types: this.types }, 'leader: trigger source started on this node')
    } catch (err) {
      ctx.logger.error({ err, types: this.types }, 'leader: trigger source failed to start')
      this.#inner = undefined
      await inner.stop().catch(() => undefined)
    }
  }

  async #endTerm(): Promise<void> {
    const inner = this.#inner
    this.#inner = undefined
    if (inner !== undefined) {
      await inner.stop()
      this.#ctx?.logger.info({ types: this.types }, 'no longer leader: trigger source stopped')
    }
  }

  onChange(change: TriggerChange): void {
    // Not leader: nothing to do; the next term's source loads the triggers as they are then.
    this.#inner?.onChange(change)
  }

  /** While leader: a fresh term, whose source loads the triggers as they are now (also after a
   * term whose start failed). */
  resync(): Promise<void> {
    this.#transitions = this.#transitions.then(async () => {
      if (this.#leader) {
        await this.#endTerm()
        await this.#startTerm()
      }
    })
    return this.#transitions
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#leader = false
    this.#transitions = this.#transitions.then(() => this.#endTerm())
    await this.#transitions
  }
}
