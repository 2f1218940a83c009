/**
 * @module Accepting an async event (reference §4.7): the one path every caller takes, the
 * `invocations-async` route and an async trigger alike, so an event is accepted the same way
 * whoever accepts it.
 */
import { StratoError } from './errors.js'
import type { AsyncQueue } from './async-invocation.js'

/** The version or alias an async event is for, named by its 8-field URN. */
export interface AsyncEventTarget {
  readonly projectId: string
  readonly functionId: string
  /** The URN with its qualifier; resolved again at every attempt (aliases route then). */
  readonly functionUrn: string
  /** `latest`, a version name or `!alias`: whose async config applies. */
  readonly qualifier: string
}

/** What the caller of `acceptAsyncEvent` says of the event itself. */
export interface AcceptedAsyncEvent {
  readonly requestId: string
  /** The event's JSON bytes. */
  readonly payload: Buffer
  /** The function's timeout: the lease of an attempt lasts this long plus the queue's grace. */
  readonly timeoutS: number
  /** The trigger that fired it, for its records. */
  readonly triggerId?: string
  /** The W3C trace context to continue in its attempts. */
  readonly traceparent?: string
  /** Headers every attempt hands the guest (a flow's `x-cff-workflow-*`). */
  readonly contextHeaders?: Readonly<Record<string, string>>
}

/**
 * Makes an event durable in the queue, stamped as accepted now. Resolves once it is (only then may
 * a 202 leave); a queue that cannot store it is 500 `ASYNC_ENQUEUE_FAILED`, never a 202.
 */
export async function acceptAsyncEvent(
  queue: Pick<AsyncQueue, 'enqueue'>,
  target: AsyncEventTarget,
  event: AcceptedAsyncEvent,
): Promise<void> {
  try {
    await queue.enqueue({
      requestId: event.requestId,
      projectId: target.projectId,
      functionId: target.functionId,
      functionUrn: target.functionUrn,
      qualifier: target.qualifier,
      payload: event.payload,
      acceptedAtMs: Date.now(),
      timeoutMs: event.timeoutS * 1000,
      ...(event.triggerId === undefined ? {} : { triggerId: event.triggerId }),
      ...(event.traceparent === undefined || event.traceparent === ''
        ? {}
        : { traceparent: event.traceparent }),
      ...(event.contextHeaders === undefined ? {} : { contextHeaders: event.contextHeaders }),
    })
  } catch (err) {
    throw new StratoError('ASYNC_ENQUEUE_FAILED', undefined, { cause: err })
  }
}
