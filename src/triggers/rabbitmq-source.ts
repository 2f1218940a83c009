/**
 * @module RABBITMQ triggers: one AMQP connection per active trigger, consuming a durable queue of
 * its own bound to the user's exchange, and invoking the function with batches of messages. A batch
 * is acked only once the function succeeded (or, its retries used up, once it went to the
 * function's `on_failure` destination and the dead letters): until then it stays in the broker, so
 * a crash of Strato loses nothing (at least once).
 */
import { setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib'
import {
  AsyncErrorCodes,
  instanceConcurrencyOf,
  isPlatformFault,
  isStratoError,
  newRequestId,
  runtimeFamilyOf,
  type CallerPresence,
  type FunctionRecord,
  type InvocationResult,
  type TriggerChange,
  type TriggerEventData,
  type TriggerRecord,
  type TriggerTypeCode,
} from '../core/index.js'
import {
  parseRabbitmqEventData,
  rabbitmqEvent,
  rabbitmqQueueName,
  rabbitmqSettingsOf,
  type RabbitmqSettings,
} from './rabbitmq-event-data.js'
import type {
  OwnAttemptSettings,
  OwnOutcome,
  TriggerSource,
  TriggerSourceContext,
} from './trigger-source.js'

export interface RabbitmqSourceOptions {
  /** The region events name (`STRATO_REGION`). */
  readonly region: string
  /** The platform's cap on instances per function (`STRATO_MAX_INSTANCES_PER_FUNCTION`). */
  readonly maxInstancesPerFunction: number
  /** The first wait before reconnecting to a broker that failed; it doubles up to the max. */
  readonly reconnectBaseMs?: number
  readonly reconnectMaxMs?: number
  /** How long a consumer lets a batch fill before it invokes with fewer than `batch_size`. */
  readonly batchWindowMs?: number
}

/** Consumers on one trigger's queue at most, whatever the function's slots. */
const MAX_LANES = 64
const CONNECT_TIMEOUT_MS = 10_000

type RabbitmqTrigger = Extract<TriggerRecord, { typeCode: 'RABBITMQ' }>

function isRabbitmqTrigger(trigger: TriggerRecord): trigger is RabbitmqTrigger {
  return trigger.typeCode === 'RABBITMQ'
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Opens a connection and a channel on it; closing the connection closes the channel. */
async function openChannel(s: RabbitmqSettings): Promise<{ conn: ChannelModel; ch: Channel }> {
  const conn = await connect(
    {
      protocol: s.tls ? 'amqps' : 'amqp',
      hostname: s.host,
      port: s.port,
      username: s.user === '' ? 'guest' : s.user,
      password: s.user === '' ? 'guest' : s.password,
      vhost: s.vhost,
      heartbeat: 30,
    },
    { timeout: CONNECT_TIMEOUT_MS },
  )
  // Errors also arrive as 'close'; without a listener an 'error' event would be thrown.
  conn.on('error', () => undefined)
  try {
    const ch = await conn.createChannel()
    ch.on('error', () => undefined)
    // A channel the broker closed (a refused operation) ends its connection too, so that the
    // consumer reconnects instead of waiting on a connection that no longer delivers.
    ch.once('close', () => void conn.close().catch(() => undefined))
    return { conn, ch }
  } catch (err) {
    await conn.close().catch(() => undefined)
    throw err
  }
}

export class RabbitmqSource implements TriggerSource {
  readonly types: readonly TriggerTypeCode[] = ['RABBITMQ']
  readonly #o: Required<RabbitmqSourceOptions>
  readonly #consumers = new Map<string, TriggerConsumer>()
  /** Triggers changed while `start` loaded: the load's older view of them is ignored. */
  #changedWhileLoading: Set<string> | undefined
  #ctx: TriggerSourceContext | undefined
  #stopped = false

  constructor(options: RabbitmqSourceOptions) {
    this.#o = {
      reconnectBaseMs: 1_000,
      reconnectMaxMs: 30_000,
      batchWindowMs: 20,
      ...options,
    }
  }

  parseEventData(_typeCode: TriggerTypeCode, raw: unknown): TriggerEventData {
    return parseRabbitmqEventData(raw)
  }

  async start(ctx: TriggerSourceContext): Promise<void> {
    this.#ctx = ctx
    this.#changedWhileLoading = new Set()
    try {
      for (const trigger of await ctx.loadTriggers()) {
        if (isRabbitmqTrigger(trigger) && !this.#changedWhileLoading.has(trigger.id)) {
          this.#consume(trigger)
        }
      }
    } finally {
      this.#changedWhileLoading = undefined
    }
  }

  onChange({ kind, trigger }: TriggerChange): void {
    if (!isRabbitmqTrigger(trigger) || this.#stopped) {
      return
    }
    this.#changedWhileLoading?.add(trigger.id)
    const consumer = this.#consumers.get(trigger.id)
    if (kind === 'deleted') {
      this.#consumers.delete(trigger.id)
      void (consumer ?? this.#idle(trigger))?.stop({ deleteQueue: true })
    } else if (trigger.status === 'ACTIVE') {
      this.#consume(trigger)
    } else {
      this.#consumers.delete(trigger.id)
      void consumer?.stop({ deleteQueue: false })
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    const consumers = [...this.#consumers.values()]
    this.#consumers.clear()
    await Promise.all(consumers.map((c) => c.stop({ deleteQueue: false })))
  }

  #consume(trigger: RabbitmqTrigger): void {
    const ctx = this.#ctx
    if (ctx === undefined || this.#consumers.has(trigger.id)) {
      return
    }
    const consumer = new TriggerConsumer(ctx, trigger, this.#o)
    this.#consumers.set(trigger.id, consumer)
    consumer.start()
  }

  /** A consumer that never consumed: deleting a disabled trigger still deletes its queue. */
  #idle(trigger: RabbitmqTrigger): TriggerConsumer | undefined {
    return this.#ctx === undefined ? undefined : new TriggerConsumer(this.#ctx, trigger, this.#o)
  }
}

/**
 * What one connection's consumer holds: messages not yet in a batch, and how many batches may be
 * in flight (`lanes`, the function slots the trigger may use) and are.
 */
interface Batching {
  readonly ch: Channel
  readonly lanes: number
  readonly pending: ConsumeMessage[]
  inflight: number
  timer: NodeJS.Timeout | undefined
}

/** One trigger's connection, queue and consumers; it reconnects with backoff until stopped. */
class TriggerConsumer {
  readonly #ctx: TriggerSourceContext
  readonly #trigger: RabbitmqTrigger
  readonly #settings: RabbitmqSettings
  readonly #queue: string
  readonly #o: Required<RabbitmqSourceOptions>
  readonly #abort = new AbortController()
  readonly #caller: CallerPresence
  #conn: ChannelModel | undefined
  #ch: Channel | undefined
  #consumerTags: string[] = []
  #running: Promise<void> | undefined
  readonly #batches = new Set<Promise<void>>()

  constructor(
    ctx: TriggerSourceContext,
    trigger: RabbitmqTrigger,
    options: Required<RabbitmqSourceOptions>,
  ) {
    this.#ctx = ctx
    this.#trigger = trigger
    this.#settings = rabbitmqSettingsOf(trigger.eventData)
    this.#queue = rabbitmqQueueName(trigger.id)
    this.#o = options
    const signal = this.#abort.signal
    // Every batch waiting (for an instance, or a retry) listens for the stop, then stops listening.
    setMaxListeners(0, signal)
    // A batch waiting for an instance leaves the line once the trigger stops: it was not acked.
    this.#caller = {
      gone: () => signal.aborted,
      onGone: (listener) => {
        signal.addEventListener('abort', listener, { once: true })
        return () => signal.removeEventListener('abort', listener)
      },
    }
  }

  start(): void {
    this.#running = this.#run()
  }

  /**
   * Stops consuming at once: the consumers are cancelled and the connection closed, so unacked
   * messages go back to the queue (a batch whose function is still running is delivered again).
   * With `deleteQueue` (the trigger was deleted), the queue goes too.
   */
  async stop({ deleteQueue }: { readonly deleteQueue: boolean }): Promise<void> {
    const ch = this.#ch
    this.#abort.abort()
    if (ch !== undefined) {
      await Promise.all(this.#consumerTags.map((tag) => ch.cancel(tag).catch(() => undefined)))
    }
    if (deleteQueue) {
      await this.#deleteQueue(ch)
    }
    await this.#conn?.close().catch(() => undefined)
    await this.#running
  }

  async #deleteQueue(ch: Channel | undefined): Promise<void> {
    try {
      if (ch !== undefined) {
        await ch.deleteQueue(this.#queue)
        return
      }
      const opened = await openChannel(this.#settings)
      try {
        await opened.ch.deleteQueue(this.#queue)
      } finally {
        await opened.conn.close().catch(() => undefined)
      }
    } catch (err) {
      this.#ctx.logger.warn(
        { trigger: this.#trigger.id, queue: this.#queue, err: messageOf(err) },
        'the queue of a deleted RABBITMQ trigger could not be deleted; it stays on the broker',
      )
    }
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted
  }

  /** Consumes until stopped; a failure is reported on the trigger and retried with backoff. */
  async #run(): Promise<void> {
    let failures = 0
    while (!this.#stopped) {
      let consumed = false
      try {
        await this.#consumeUntilClosed(() => {
          consumed = true
          failures = 0
          this.#ctx.reportHealth(this.#trigger.id, { ok: true })
        })
        if (!this.#stopped) {
          this.#ctx.reportHealth(this.#trigger.id, {
            ok: false,
            error: 'The connection to the broker closed; reconnecting.',
          })
        }
      } catch (err) {
        if (this.#stopped) {
          break
        }
        this.#ctx.reportHealth(this.#trigger.id, { ok: false, error: messageOf(err) })
      }
      // Wait for the batches of the lost connection: their acks would go nowhere anyway.
      await Promise.allSettled(this.#batches)
      if (this.#stopped) {
        break
      }
      failures = consumed ? 1 : failures + 1
      const delay = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectBaseMs * 2 ** (failures - 1))
      await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => undefined)
    }
  }

  /** How many batches of this trigger may run at once: the function's slots minus one for sync callers. */
  #lanesFor(fn: FunctionRecord): number {
    if (this.#settings.serial) {
      return 1
    }
    const cap = this.#o.maxInstancesPerFunction
    const instances = fn.maxInstances < 0 ? cap : Math.min(fn.maxInstances, cap)
    const perInstance = instanceConcurrencyOf(runtimeFamilyOf(fn.runtime), fn.concurrentNum)
    return Math.min(MAX_LANES, Math.max(1, instances * perInstance - 1))
  }

  async #consumeUntilClosed(onConsuming: () => void): Promise<void> {
    const { fn } = await this.#ctx.functions.resolve(
      this.#trigger.projectId,
      this.#trigger.functionUrn,
    )
    const { conn, ch } = await openChannel(this.#settings)
    this.#conn = conn
    this.#ch = ch
    const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()))
    let batching: Batching | undefined
    try {
      if (this.#stopped) {
        return
      }
      const s = this.#settings
      // The exchange is the user's: checked, never declared (a missing one is the trigger's error).
      await ch.checkExchange(s.exchange)
      await ch.assertQueue(this.#queue, { durable: true })
      await ch.bindQueue(this.#queue, s.exchange, s.routingKey)
      // A batch's worth of unacked messages per batch that may be in flight: the broker holds the
      // rest, and a full batch is always there to take once a batch ends.
      batching = {
        ch,
        lanes: this.#lanesFor(fn),
        pending: [],
        inflight: 0,
        timer: undefined,
      }
      await ch.prefetch(s.batchSize * batching.lanes, false)
      const { consumerTag } = await ch.consume(
        this.#queue,
        (msg) => {
          if (msg !== null && batching !== undefined) {
            this.#received(batching, msg)
          }
        },
        { noAck: false },
      )
      this.#consumerTags = [consumerTag]
      onConsuming()
      await closed
    } finally {
      // Messages not yet in a batch go back to the queue with the connection.
      if (batching !== undefined) {
        clearTimeout(batching.timer)
        batching.pending.length = 0
      }
      this.#ch = undefined
      this.#conn = undefined
      await conn.close().catch(() => undefined)
    }
  }

  #received(b: Batching, msg: ConsumeMessage): void {
    b.pending.push(msg)
    if (b.pending.length >= this.#settings.batchSize) {
      this.#flush(b)
    } else {
      // A batch fills for a moment before it goes with fewer messages.
      b.timer ??= setTimeout(() => {
        b.timer = undefined
        this.#flush(b)
      }, this.#o.batchWindowMs)
    }
  }

  /** Starts batches while messages wait and a lane is free; a partial one only when its window ended. */
  #flush(b: Batching): void {
    while (b.inflight < b.lanes && b.pending.length > 0) {
      if (b.pending.length < this.#settings.batchSize && b.timer !== undefined) {
        return // still filling
      }
      this.#start(b, b.pending.splice(0, this.#settings.batchSize))
    }
  }

  #start(b: Batching, batch: ConsumeMessage[]): void {
    b.inflight++
    const running = this.#deliver(b.ch, batch)
      .catch((err: unknown) =>
        // Not acked: the broker delivers the batch again once this connection ends.
        this.#ctx.logger.error(
          { trigger: this.#trigger.id, err: messageOf(err) },
          'a RABBITMQ batch could not be delivered; it stays in the queue',
        ),
      )
      .finally(() => {
        this.#batches.delete(running)
        b.inflight--
        this.#flush(b)
      })
    this.#batches.add(running)
  }

  /** Runs one batch to its end, then acks it; leaves it unacked if the trigger stops first. */
  async #deliver(ch: Channel, batch: readonly ConsumeMessage[]): Promise<void> {
    const trigger = this.#trigger
    const acceptedAtMs = Date.now()
    const requestId = newRequestId()
    const payload = rabbitmqEvent({
      region: this.#o.region,
      triggerId: trigger.id,
      exchange: this.#settings.exchange,
      vhost: this.#settings.vhost,
      bodies: batch.map((m) => m.content),
      nowMs: acceptedAtMs,
    })
    const settings = await this.#ctx.ownAttempts.settings(trigger)
    const ended = await this.#attempt(requestId, payload, acceptedAtMs, settings)
    if (ended === undefined) {
      return // stopped: the broker delivers the batch again
    }
    await this.#ctx.ownAttempts.settle(
      trigger,
      { requestId, payload, acceptedAtMs, startedAtMs: acceptedAtMs, attempts: ended.attempts },
      ended.outcome,
    )
    if (ended.outcome.status === 'SUCCESS') {
      this.#ctx.logger.debug(
        { trigger: trigger.id, requestId, messages: batch.length, attempts: ended.attempts },
        'a RABBITMQ batch was processed',
      )
    } else {
      this.#ctx.logger.warn(
        {
          trigger: trigger.id,
          requestId,
          messages: batch.length,
          status: ended.outcome.status,
          error: ended.outcome.errorMessage,
        },
        'a RABBITMQ batch failed for good: it went to the dead letters and on_failure destination',
      )
    }
    if (this.#stopped) {
      return // the connection is closing: the broker delivers the batch again
    }
    for (const msg of batch) {
      ch.ack(msg)
    }
  }

  /**
   * Attempts a batch as the async dispatcher attempts an event: function errors count against
   * `max_async_retry_attempts` with the async backoff; platform errors (throttled, no instance)
   * are retried until the event's max age. Undefined when the trigger stopped first.
   */
  async #attempt(
    requestId: string,
    payload: Buffer,
    acceptedAtMs: number,
    settings: OwnAttemptSettings,
  ): Promise<{ attempts: number; outcome: OwnOutcome } | undefined> {
    const deadline = acceptedAtMs + settings.maxEventAgeMs
    let attempts = 0
    let functionErrors = 0
    let systemErrors = 0
    const waitOrStop = async (delayMs: number): Promise<boolean> => {
      await sleep(delayMs, undefined, { signal: this.#abort.signal }).catch(() => undefined)
      return !this.#stopped
    }
    for (;;) {
      if (this.#stopped) {
        return undefined
      }
      attempts++
      let result: InvocationResult
      try {
        const { fn, alias } = await this.#ctx.functions.resolve(
          this.#trigger.projectId,
          this.#trigger.functionUrn,
        )
        result = await this.#ctx.invoker.invoke({
          fn,
          version: fn.version,
          alias: alias?.name ?? '',
          requestId,
          payload,
          invokeType: 'async',
          attempt: attempts,
          caller: this.#caller,
        })
      } catch (err) {
        if (this.#stopped) {
          return undefined
        }
        if (
          isStratoError(err, 'FUNCTION_NOT_FOUND') ||
          isStratoError(err, 'VERSION_NOT_FOUND') ||
          isStratoError(err, 'ALIAS_NOT_FOUND')
        ) {
          return {
            attempts: attempts - 1,
            outcome: {
              status: 'DISCARD',
              errorCode: AsyncErrorCodes.FUNCTION_GONE,
              errorMessage: `${err.message} The batch was discarded.`,
              condition: 'FunctionNotFound',
            },
          }
        }
        if (isStratoError(err, 'INVALID_EVENT')) {
          return {
            attempts,
            outcome: {
              status: 'FAIL',
              errorCode: AsyncErrorCodes.FUNCTION_ERROR,
              errorMessage: err.message,
              condition: 'UnhandledInvocationError',
              statusCode: 400,
              functionError: 'InvalidEvent',
              response: '',
            },
          }
        }
        systemErrors++
        const delay = this.#ctx.ownAttempts.retryDelayMs('system', systemErrors)
        if (Date.now() + delay > deadline) {
          return {
            attempts,
            outcome: {
              status: 'DISCARD',
              errorCode: AsyncErrorCodes.EVENT_AGE_EXCEEDED,
              errorMessage: `${messageOf(err)} (retried until max_async_event_age_in_seconds)`,
              condition: 'EventAgeExceeded',
            },
          }
        }
        if (!(await waitOrStop(delay))) {
          return undefined
        }
        continue
      }
      if (this.#stopped && result.kind !== 'success') {
        // Stopped under it (a shutdown kills running instances): not the function's failure.
        return undefined
      }
      const body = result.body.toString('utf8')
      if (result.kind === 'success') {
        return {
          attempts,
          outcome: {
            status: 'SUCCESS',
            errorCode: AsyncErrorCodes.NONE,
            errorMessage: '',
            condition: '',
            statusCode: 200,
            functionError: '',
            response: body,
          },
        }
      }
      const errorType = result.record.errorType ?? 'Error'
      const errorMessage = `${errorType}: ${result.record.errorMessage ?? ''}`
      const platform = isPlatformFault(result.record.errorType, result.record.errorMessage)
      if (!platform) {
        functionErrors++
      } else {
        systemErrors++
      }
      if (!platform && functionErrors > settings.maxRetries) {
        return {
          attempts,
          outcome: {
            status: 'FAIL',
            errorCode: AsyncErrorCodes.FUNCTION_ERROR,
            errorMessage,
            condition: 'UnhandledInvocationError',
            statusCode: 500,
            functionError: errorType,
            response: body,
          },
        }
      }
      const delay = platform
        ? this.#ctx.ownAttempts.retryDelayMs('system', systemErrors)
        : this.#ctx.ownAttempts.retryDelayMs('function', functionErrors)
      if (Date.now() + delay > deadline) {
        return {
          attempts,
          outcome: {
            status: 'DISCARD',
            errorCode: AsyncErrorCodes.EVENT_AGE_EXCEEDED,
            errorMessage: `${errorMessage} (the next retry would pass max_async_event_age_in_seconds)`,
            condition: 'EventAgeExceeded',
            statusCode: 500,
            functionError: errorType,
            response: body,
          },
        }
      }
      if (!(await waitOrStop(delay))) {
        return undefined
      }
    }
  }
}
