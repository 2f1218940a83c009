/**
 * @module The LTS trigger source (log subscriptions): a function subscribes to another function's
 * invocation logs and gets their new lines in batches, as the §6.5 event, accepted asynchronously.
 *
 * Strato's log groups and streams (FunctionGraph's LTS has both): a project's functions log into
 * one group, whose id is the project id, and each function into its own stream, whose id is the
 * function's `func_id`. An LTS trigger's `log_group_id`/`log_topic_id` name them; the
 * `lts-log-detail` route shows them for a function.
 *
 * Delivery is at least once: a batch is accepted under a request id derived from the subscription
 * and the batch's last entry (a batch accepted again after a crash is ignored by the queue), then
 * the subscription's cursor (the feed position of that entry) is saved. Lines written before the
 * trigger was created are not delivered.
 */
import os from 'node:os'
import {
  StratoError,
  formatInvocationLog,
  logGroupOf,
  logStreamOf,
  type FedInvocation,
  type FunctionRecord,
  type InvocationLogFeed,
  type LtsEventData,
  type TriggerChange,
  type TriggerEventData,
  type TriggerRecord,
  type TriggerTargetCheck,
  type TriggerTypeCode,
} from '../core/index.js'
import { derivedRequestId } from './derived-request-id.js'
import type { TriggerSource, TriggerSourceContext } from './trigger-source.js'
import { PollLoop } from './poll-loop.js'

type LtsTrigger = Extract<TriggerRecord, { readonly typeCode: 'LTS' }>

function fail(detail: string): never {
  throw new StratoError('INVALID_LTS_TRIGGER', detail)
}

const ID = /^[A-Za-z0-9-]{1,64}$/

/** Checks an LTS trigger's `event_data` shape (what it names is checked by `checkTarget`). */
export function parseLtsEventData(raw: unknown): LtsEventData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail('event_data must be an object with log_group_id and log_topic_id.')
  }
  const data = raw as Record<string, unknown>
  const group = data.log_group_id
  const topic = data.log_topic_id
  if (typeof group !== 'string' || !ID.test(group)) {
    fail('event_data.log_group_id must be a log group id (the project id).')
  }
  if (typeof topic !== 'string' || !ID.test(topic)) {
    fail("event_data.log_topic_id must be a log stream id (a function's func_id).")
  }
  return { log_group_id: group, log_topic_id: topic }
}

/** Entries read per subscription per poll. */
const READ_LIMIT = 200
/**
 * The decoded `data` of one event stays under this, so that its base64 (4/3 larger) and the
 * wrapper fit the 256 KB async event limit.
 */
const BATCH_DATA_MAX_BYTES = 180 * 1024

export interface LtsSourceOptions {
  /** Where new log lines come from. */
  readonly logs: InvocationLogFeed
  /** Finds a project's function by id (`checkTarget`, and the stream's name). */
  readonly functions: {
    getById(projectId: string, id: string): Promise<FunctionRecord | undefined>
  }
  /** How often subscriptions look for new lines. */
  readonly pollMs?: number
}

interface Subscription {
  trigger: LtsTrigger
  /** The feed position of the last entry delivered; loaded from the cursor on first use. */
  position: string | undefined
  loaded: boolean
}

/** One line as §6.5 carries it. */
interface LtsLine {
  readonly message: string
  readonly time: number
  readonly host_name: string
  readonly ip: string
  readonly path: string
  readonly log_uid: string
  readonly line_no: number
}

export class LtsSource implements TriggerSource {
  readonly types: readonly TriggerTypeCode[] = ['LTS']
  readonly #o: LtsSourceOptions
  readonly #loop: PollLoop
  #ctx: TriggerSourceContext | undefined
  readonly #subscriptions = new Map<string, Subscription>()
  /** Ids a change touched while `start` loaded. */
  #changedDuringLoad: Set<string> | undefined

  constructor(options: LtsSourceOptions) {
    this.#o = options
    this.#loop = new PollLoop(options.pollMs ?? 1_000, () => this.#pollAll())
  }

  parseEventData(_typeCode: TriggerTypeCode, raw: unknown): TriggerEventData {
    return parseLtsEventData(raw)
  }

  /**
   * The group must be the project's and the stream one of its functions, not the subscriber
   * itself, nor one whose logs already reach the subscriber's stream through other subscriptions:
   * each delivery is an invocation that logs, so a cycle would never end.
   */
  async checkTarget(t: TriggerTargetCheck): Promise<void> {
    const data = t.eventData as LtsEventData
    if (data.log_group_id !== logGroupOf(t.projectId).id) {
      fail(
        `log_group_id '${data.log_group_id}' is not this project's log group ('${logGroupOf(t.projectId).id}').`,
      )
    }
    if (data.log_topic_id === t.functionId) {
      fail('A function cannot subscribe to its own logs: every delivery would log again (a loop).')
    }
    if ((await this.#o.functions.getById(t.projectId, data.log_topic_id)) === undefined) {
      fail(`log_topic_id '${data.log_topic_id}' is not the log stream (func_id) of a function.`)
    }
    const others = (await this.#ctx?.loadTriggers()) ?? []
    if (this.#reaches(others, t.functionId, data.log_topic_id, t.triggerId)) {
      fail(
        `The function's own logs already reach '${data.log_topic_id}' through other LTS triggers: subscribing would make a loop.`,
      )
    }
  }

  /** Whether `from`'s logs reach `to` through subscriptions (an edge: a stream to its subscriber). */
  #reaches(
    triggers: readonly TriggerRecord[],
    from: string,
    to: string,
    except: string | undefined,
  ): boolean {
    const seen = new Set<string>([from])
    const queue = [from]
    for (let fn = queue.shift(); fn !== undefined; fn = queue.shift()) {
      if (fn === to) {
        return true
      }
      for (const t of triggers) {
        if (t.typeCode === 'LTS' && t.id !== except && t.eventData.log_topic_id === fn) {
          if (!seen.has(t.functionId)) {
            seen.add(t.functionId)
            queue.push(t.functionId)
          }
        }
      }
    }
    return false
  }

  async start(ctx: TriggerSourceContext): Promise<void> {
    this.#ctx = ctx
    const changed = new Set<string>()
    this.#changedDuringLoad = changed
    const loaded = await ctx.loadTriggers()
    this.#changedDuringLoad = undefined
    for (const trigger of loaded) {
      // A change heard while loading is newer than what the load read.
      if (trigger.typeCode === 'LTS' && !changed.has(trigger.id)) {
        this.#subscriptions.set(trigger.id, { trigger, position: undefined, loaded: false })
      }
    }
    this.#loop.start()
  }

  onChange({ kind, trigger }: TriggerChange): void {
    if (trigger.typeCode !== 'LTS') {
      return
    }
    this.#changedDuringLoad?.add(trigger.id)
    const current = this.#subscriptions.get(trigger.id)
    if (kind === 'deleted' || trigger.status !== 'ACTIVE') {
      this.#subscriptions.delete(trigger.id)
      return
    }
    // A changed stream starts from its own new lines, not from the old stream's position.
    const sameStream = current?.trigger.eventData.log_topic_id === trigger.eventData.log_topic_id
    this.#subscriptions.set(
      trigger.id,
      sameStream && current !== undefined
        ? { ...current, trigger }
        : { trigger, position: undefined, loaded: kind === 'updated' },
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

  /** Delivers what the subscription has not seen yet; a failure is retried at the next poll. */
  async #poll(sub: Subscription): Promise<void> {
    const ctx = this.#ctx
    if (ctx === undefined) {
      return
    }
    const { trigger } = sub
    try {
      if (!sub.loaded) {
        sub.position = await ctx.cursors.cursorOf(trigger.id)
        sub.loaded = true
      }
      const sinceMs = trigger.updatedAt.getTime()
      const fed = await this.#o.logs.readAfter(
        trigger.eventData.log_topic_id,
        sub.position,
        sinceMs,
        READ_LIMIT,
      )
      if (fed.length === 0) {
        return
      }
      const stream = await this.#o.functions.getById(
        trigger.projectId,
        trigger.eventData.log_topic_id,
      )
      const path = stream === undefined ? trigger.eventData.log_topic_id : logStreamOf(stream).name
      const { fn } = await ctx.functions.resolve(trigger.projectId, trigger.functionUrn)
      for (const batch of batches(fed, path)) {
        if (this.#subscriptions.get(trigger.id) !== sub) {
          return // disabled, deleted or changed meanwhile
        }
        const last = batch.at(-1)
        if (last === undefined) {
          continue
        }
        const requestId = derivedRequestId(`${trigger.id}:${last.position}`, last.entry.startedAtMs)
        const event = ltsEvent(trigger, batch, path)
        await ctx.acceptAsync(trigger, fn, requestId, event)
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
        'a log subscription could not deliver; retrying',
      )
    }
  }
}

const HOST_NAME = os.hostname()

/** The lines of one invocation's log, as §6.5 lines. */
function linesOf(fed: FedInvocation, path: string): LtsLine[] {
  const e = fed.entry
  const text = formatInvocationLog(e).replace(/\n$/, '')
  return text.split('\n').map((message, i) => ({
    message,
    time: e.startedAtMs,
    host_name: HOST_NAME,
    ip: '127.0.0.1',
    path,
    log_uid: `${e.requestId}-${e.attempt ?? 1}-${i + 1}`,
    line_no: i + 1,
  }))
}

/**
 * Splits what was read into batches whose data fits an async event; an invocation's lines stay
 * together (one too large for an event alone is cut, and says so).
 */
function batches(fed: readonly FedInvocation[], path: string): FedInvocation[][] {
  const out: FedInvocation[][] = []
  let current: FedInvocation[] = []
  let size = 0
  for (const f of fed) {
    const bytes = Buffer.byteLength(JSON.stringify(linesOf(f, path)))
    if (current.length > 0 && size + bytes > BATCH_DATA_MAX_BYTES) {
      out.push(current)
      current = []
      size = 0
    }
    current.push(f)
    size += bytes
  }
  if (current.length > 0) {
    out.push(current)
  }
  return out
}

/** The §6.5 event: `lts.data` is the base64 of `{logs (a JSON string), owner, log_group_id, log_topic_id}`. */
export function ltsEvent(
  trigger: LtsTrigger,
  batch: readonly FedInvocation[],
  path: string,
): Buffer {
  let lines = batch.flatMap((f) => linesOf(f, path))
  if (Buffer.byteLength(JSON.stringify(lines)) > BATCH_DATA_MAX_BYTES) {
    lines = cut(lines)
  }
  const data = {
    logs: JSON.stringify(lines),
    owner: trigger.projectId,
    log_group_id: trigger.eventData.log_group_id,
    log_topic_id: trigger.eventData.log_topic_id,
  }
  return Buffer.from(
    JSON.stringify({ lts: { data: Buffer.from(JSON.stringify(data)).toString('base64') } }),
  )
}

/** One invocation's lines cut to what fits, the last one saying so. */
function cut(lines: readonly LtsLine[]): LtsLine[] {
  const kept: LtsLine[] = []
  let size = 2
  const budget = BATCH_DATA_MAX_BYTES - 1024
  for (const line of lines) {
    const room = budget - size
    const bytes = Buffer.byteLength(JSON.stringify(line)) + 1
    if (bytes > room) {
      const excess = bytes - room
      const message = Buffer.from(line.message)
        .subarray(0, Math.max(0, Buffer.byteLength(line.message) - excess - 64))
        .toString()
      kept.push({ ...line, message: `${message} [cut: the log is longer than one event]` })
      break
    }
    kept.push(line)
    size += bytes
  }
  return kept
}
