/**
 * @module The TIMER trigger source: fires each active timer at its schedule's ticks, as the §6.2
 * event accepted asynchronously (retries, destinations and records apply).
 *
 * Each tick fires once (docs/decisions/0014-timer-and-log-triggers.md): a tick's request id is derived from
 * the trigger and the tick, and the async queue ignores an id it already holds, so firing a tick
 * again is harmless; and the last fired tick is saved as the trigger's cursor after the enqueue, so
 * a restart starts after it. After downtime, or when Strato fell behind, only the latest tick that
 * is due fires (one catch-up); the ones before it are skipped.
 */
import {
  StratoError,
  type TimerEventData,
  type TriggerChange,
  type TriggerEventData,
  type TriggerRecord,
  type TriggerTypeCode,
} from '../core/index.js'
import { derivedRequestId } from './derived-request-id.js'
import type { TriggerSource, TriggerSourceContext } from './trigger-source.js'
import {
  parseTimerEventData,
  tickTime,
  timerSchedule,
  type TimerSchedule,
} from './timer-schedule.js'

type TimerTrigger = Extract<TriggerRecord, { readonly typeCode: 'TIMER' }>

/** setTimeout's longest delay; a later tick is waited for in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1
/** After a failed fire (the queue refused the event), the same tick is tried again this soon. */
const RETRY_MS = 1_000

/** A tick's request id: the same tick of the same trigger always gets the same one. */
export function tickRequestId(triggerId: string, tickMs: number): string {
  return derivedRequestId(`${triggerId}:${tickMs}`, tickMs)
}

/** The event a TIMER trigger's function gets (reference §6.2). */
export function timerEvent(data: TimerEventData, tickMs: number, timeZone?: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: 'v1.0',
      time: tickTime(tickMs, timeZone),
      trigger_type: 'TIMER',
      trigger_name: data.name,
      user_event: data.user_event ?? '',
    }),
  )
}

/** One active timer: its schedule, the last tick it fired (or its baseline) and its wait. */
interface ArmedTimer {
  readonly trigger: TimerTrigger
  readonly schedule: TimerSchedule
  /** Ticks at or before this are done: fired, or before the trigger took effect. */
  doneUpTo: number
  timeout: NodeJS.Timeout | undefined
  /** Disarmed (disabled, deleted, changed, stopped): nothing more fires. */
  cancelled: boolean
}

export class TimerSource implements TriggerSource {
  readonly types: readonly TriggerTypeCode[] = ['TIMER']
  #ctx: TriggerSourceContext | undefined
  readonly #armed = new Map<string, ArmedTimer>()
  /** Ids a change touched while `start` loaded: the load's older copy must not re-arm them. */
  #changedDuringLoad: Set<string> | undefined
  readonly #now: () => number
  /** Fires between their start and their cursor save: `stop` waits for them. */
  readonly #firing = new Set<Promise<boolean>>()

  /** `now` is the clock ticks are judged by (tests move it). */
  constructor(options: { readonly now?: () => number } = {}) {
    this.#now = options.now ?? Date.now
  }

  parseEventData(_typeCode: TriggerTypeCode, raw: unknown): TriggerEventData {
    return parseTimerEventData(raw)
  }

  async start(ctx: TriggerSourceContext): Promise<void> {
    this.#ctx = ctx
    this.#changedDuringLoad = new Set()
    const loaded = await ctx.loadTriggers()
    const changed = this.#changedDuringLoad
    this.#changedDuringLoad = undefined
    for (const trigger of loaded) {
      if (trigger.typeCode === 'TIMER' && !changed.has(trigger.id)) {
        this.#arm(trigger)
      }
    }
  }

  onChange({ kind, trigger }: TriggerChange): void {
    this.#changedDuringLoad?.add(trigger.id)
    this.#disarm(trigger.id)
    if (kind !== 'deleted' && trigger.status === 'ACTIVE' && trigger.typeCode === 'TIMER') {
      this.#arm(trigger)
    }
  }

  /** Clears every timer, then waits for fires already under way (their enqueue and cursor). */
  async stop(): Promise<void> {
    for (const id of [...this.#armed.keys()]) {
      this.#disarm(id)
    }
    await Promise.allSettled([...this.#firing])
    this.#ctx = undefined
  }

  /** How many timers are armed (for `/strato/info` and tests). */
  get armedCount(): number {
    return this.#armed.size
  }

  #disarm(id: string): void {
    const armed = this.#armed.get(id)
    if (armed !== undefined) {
      armed.cancelled = true
      clearTimeout(armed.timeout)
      this.#armed.delete(id)
    }
  }

  #arm(trigger: TimerTrigger): void {
    const ctx = this.#ctx
    if (ctx === undefined) {
      return
    }
    let schedule: TimerSchedule
    try {
      // The schedule took effect when the trigger was created, enabled or changed: ticks before
      // that never fire, and intervals count from there.
      schedule = timerSchedule(trigger.eventData, trigger.updatedAt.getTime())
    } catch (err) {
      // Checked at create; a stored one that no longer parses (a zone gone from the tz data).
      ctx.reportHealth(trigger.id, { ok: false, error: messageOf(err) })
      return
    }
    const armed: ArmedTimer = {
      trigger,
      schedule,
      doneUpTo: trigger.updatedAt.getTime(),
      timeout: undefined,
      cancelled: false,
    }
    this.#armed.set(trigger.id, armed)
    void ctx.cursors.cursorOf(trigger.id).then(
      (cursor) => {
        const fired = cursor === undefined ? NaN : Number(cursor)
        if (Number.isFinite(fired)) {
          armed.doneUpTo = Math.max(armed.doneUpTo, fired)
        }
        void this.#wake(armed)
      },
      (err: unknown) => {
        ctx.logger.error({ err, trigger: trigger.id }, 'reading a timer trigger cursor failed')
        void this.#wake(armed)
      },
    )
  }

  /**
   * Fires the latest due tick not yet done (at most one, so a backlog is one catch-up), then waits
   * for the next tick after it.
   */
  async #wake(armed: ArmedTimer): Promise<void> {
    const ctx = this.#ctx
    if (armed.cancelled || ctx === undefined) {
      return
    }
    const due = armed.schedule.latestAtOrBefore(this.#now())
    let retryAt: number | undefined
    if (due !== undefined && due > armed.doneUpTo) {
      const firing = this.#fire(ctx, armed, due)
      this.#firing.add(firing)
      const fired = await firing.finally(() => this.#firing.delete(firing))
      if (fired) {
        armed.doneUpTo = due
      } else {
        retryAt = this.#now() + RETRY_MS
      }
    }
    if (armed.cancelled) {
      return
    }
    // A failed tick is tried again (or superseded by a newer one) at retryAt.
    const at = retryAt ?? armed.schedule.nextAfter(armed.doneUpTo)
    if (at === undefined) {
      return
    }
    // A timer may wake a little early: #wake then finds nothing due and waits again.
    const delay = Math.min(Math.max(at - this.#now(), 0), MAX_DELAY_MS)
    armed.timeout = setTimeout(() => void this.#wake(armed), delay)
  }

  /** Accepts one tick's event; false (and the trigger reported failing) when it could not. */
  async #fire(ctx: TriggerSourceContext, armed: ArmedTimer, tickMs: number): Promise<boolean> {
    const { trigger } = armed
    const requestId = tickRequestId(trigger.id, tickMs)
    try {
      const { fn } = await ctx.functions.resolve(trigger.projectId, trigger.functionUrn)
      const event = timerEvent(trigger.eventData, tickMs, armed.schedule.timeZone)
      // Idempotent: an id the queue already holds (a tick fired before a crash) is ignored.
      await ctx.acceptAsync(trigger, fn, requestId, event)
      await ctx.cursors.saveCursor(trigger.id, String(tickMs))
      ctx.reportHealth(trigger.id, { ok: true })
      ctx.logger.debug(
        { trigger: trigger.id, requestId, tick: new Date(tickMs).toISOString() },
        'timer trigger fired',
      )
      return true
    } catch (err) {
      if (armed.cancelled) {
        // Deleted with its function meanwhile: nothing to report.
        return false
      }
      ctx.reportHealth(trigger.id, { ok: false, error: messageOf(err) })
      ctx.logger.warn(
        { err, trigger: trigger.id, requestId, tick: new Date(tickMs).toISOString() },
        'a timer trigger could not fire; retrying',
      )
      return false
    }
  }
}

function messageOf(err: unknown): string {
  if (err instanceof StratoError) {
    return `${err.spec.fss}: ${err.message}`
  }
  return err instanceof Error ? err.message : String(err)
}
