/**
 * @module The CTS trigger source: a function subscribes to its project's audit trail
 * (`event_data.operations`, `<service>:<resource_type>:<trace_name>` entries) and gets one §6.6
 * event per matching management call, accepted asynchronously.
 *
 * Delivery is at least once: a record is accepted under a request id derived from the trigger and
 * the record's feed position (accepted again after a crash, the queue ignores it), then the
 * trigger's cursor moves past it. Records made before the trigger was created (or last enabled)
 * are not delivered.
 *
 * Loops: a function never gets the records of calls on itself (its config, code, versions,
 * aliases, triggers, its own deletion): a CTS-triggered function that changes itself would
 * otherwise trigger itself for ever. A chain through other functions (A changes B, B's trigger
 * changes A) is not detected; docs/decisions/0018 says why.
 */
import {
  StratoError,
  type AuditFeed,
  type CtsEventData,
  type TriggerChange,
  type TriggerEventData,
  type TriggerRecord,
  type TriggerTypeCode,
} from '../core/index.js'
import { ctsEvent, matchesOperations, parseCtsEventData } from '../audit/index.js'
import { derivedRequestId } from './derived-request-id.js'
import type { TriggerSource, TriggerSourceContext } from './trigger-source.js'
import { PollLoop } from './poll-loop.js'

type CtsTrigger = Extract<TriggerRecord, { readonly typeCode: 'CTS' }>

/** Records read per trigger per poll. */
const READ_LIMIT = 200

export interface CtsSourceOptions {
  /** Where management calls come from: the store's audit trail. */
  readonly trail: AuditFeed
  /** How often subscriptions look for new records. */
  readonly pollMs?: number
}

interface Subscription {
  trigger: CtsTrigger
  /** The feed position of the last record handled; loaded from the cursor on first use. */
  position: string | undefined
  loaded: boolean
}

/** `urn:fss:<region>:<project>:function:<package>:<name>`, whatever the qualifier. */
function unqualifiedUrn(urn: string): string {
  return urn.split(':').slice(0, 7).join(':')
}

export class CtsSource implements TriggerSource {
  readonly types: readonly TriggerTypeCode[] = ['CTS']
  readonly #trail: AuditFeed
  readonly #loop: PollLoop
  #ctx: TriggerSourceContext | undefined
  readonly #subscriptions = new Map<string, Subscription>()
  #changedDuringLoad: Set<string> | undefined

  constructor(options: CtsSourceOptions) {
    this.#trail = options.trail
    this.#loop = new PollLoop(options.pollMs ?? 500, () => this.#pollAll())
  }

  parseEventData(_typeCode: TriggerTypeCode, raw: unknown): TriggerEventData {
    return parseCtsEventData(raw)
  }

  async start(ctx: TriggerSourceContext): Promise<void> {
    this.#ctx = ctx
    const changed = new Set<string>()
    this.#changedDuringLoad = changed
    const loaded = await ctx.loadTriggers()
    this.#changedDuringLoad = undefined
    for (const trigger of loaded) {
      if (trigger.typeCode === 'CTS' && !changed.has(trigger.id)) {
        this.#subscriptions.set(trigger.id, { trigger, position: undefined, loaded: false })
      }
    }
    this.#loop.start()
  }

  onChange({ kind, trigger }: TriggerChange): void {
    if (trigger.typeCode !== 'CTS') {
      return
    }
    this.#changedDuringLoad?.add(trigger.id)
    const current = this.#subscriptions.get(trigger.id)
    if (kind === 'deleted' || trigger.status !== 'ACTIVE') {
      this.#subscriptions.delete(trigger.id)
      return
    }
    this.#subscriptions.set(
      trigger.id,
      current === undefined
        ? { trigger, position: undefined, loaded: kind === 'created' }
        : { ...current, trigger },
    )
  }

  async stop(): Promise<void> {
    await this.#loop.stop()
    this.#subscriptions.clear()
    this.#ctx = undefined
  }

  async #pollAll(): Promise<void> {
    for (const sub of [...this.#subscriptions.values()]) {
      if (this.#loop.stopped) {
        return
      }
      await this.#poll(sub)
    }
  }

  /** Delivers the matching records the subscription has not seen; a failure retries next poll. */
  async #poll(sub: Subscription): Promise<void> {
    const ctx = this.#ctx
    if (ctx === undefined) {
      return
    }
    const { trigger } = sub
    const data: CtsEventData = trigger.eventData
    const own = unqualifiedUrn(trigger.functionUrn)
    try {
      if (!sub.loaded) {
        sub.position = await ctx.cursors.cursorOf(trigger.id)
        sub.loaded = true
      }
      const fed = await this.#trail.readAfter(
        trigger.projectId,
        sub.position,
        trigger.updatedAt.getTime(),
        READ_LIMIT,
      )
      const last = fed.at(-1)
      if (last === undefined) {
        return
      }
      for (const { position, record } of fed) {
        if (this.#subscriptions.get(trigger.id) !== sub) {
          return // disabled, deleted or changed meanwhile
        }
        if (record.functionUrn === own || !matchesOperations(data.operations, record)) {
          continue
        }
        const { fn } = await ctx.functions.resolve(trigger.projectId, trigger.functionUrn)
        const requestId = derivedRequestId(`${trigger.id}:${position}`, record.timeMs)
        await ctx.acceptAsync(trigger, fn, requestId, Buffer.from(JSON.stringify(ctsEvent(record))))
        await ctx.cursors.saveCursor(trigger.id, position)
        sub.position = position
      }
      if (sub.position !== last.position) {
        await ctx.cursors.saveCursor(trigger.id, last.position)
        sub.position = last.position
      }
      ctx.reportHealth(trigger.id, { ok: true })
    } catch (err) {
      if (this.#subscriptions.get(trigger.id) !== sub) {
        return
      }
      const message =
        err instanceof StratoError
          ? `${err.spec.fss}: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err)
      ctx.reportHealth(trigger.id, { ok: false, error: message })
      ctx.logger.warn(
        { err, trigger: trigger.id },
        'a CTS subscription could not deliver; retrying',
      )
    }
  }
}
