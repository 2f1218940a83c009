/**
 * @module The spans of one recorded invocation: the entry (an API or gateway request, or an async
 * attempt), then `queue wait` (waiting for an instance slot), with `cold start` inside it when the
 * invocation started its instance, then `execute` (the function running).
 */
import {
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api'
import { ATTR_FAAS_COLDSTART } from '@opentelemetry/semantic-conventions/incubating'
import type { InvocationTrace, LaunchTiming } from '../core/index.js'
import { TRACEPARENT_HEADER, TRACE_ID_HEADER, formatTraceparent } from './trace-context.js'

/** What was thrown, as a short type: a Strato error code, or the function's error type. */
export function errorTypeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; errorType?: unknown; name?: unknown }
    if (typeof e.errorType === 'string') {
      return e.errorType
    }
    if (typeof e.code === 'string') {
      return e.code
    }
    if (typeof e.name === 'string') {
      return e.name
    }
  }
  return 'Error'
}

export function failSpan(span: Span, errorType: string): void {
  span.setAttribute('error.type', errorType)
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorType })
}

/** Epoch ms with a fraction, from the monotonic clock (what the SDK itself uses for `now`). */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now()
}

export class InvocationSpans implements InvocationTrace {
  readonly traceId: string
  readonly #tracer: Tracer
  readonly #root: Span
  readonly #rootContext: Context
  readonly #rootStartMs: number
  #execution: Span | undefined

  constructor(tracer: Tracer, root: Span, rootContext: Context, rootStartMs: number) {
    this.#tracer = tracer
    this.#root = root
    this.#rootContext = rootContext
    this.#rootStartMs = rootStartMs
    this.traceId = root.spanContext().traceId
  }

  acquired(waitStartMs: number, launch: LaunchTiming | undefined): void {
    const wait = this.#startWait(waitStartMs, launch !== undefined)
    if (launch !== undefined) {
      this.#root.setAttribute(ATTR_FAAS_COLDSTART, true)
      this.#tracer
        .startSpan(
          'cold start',
          { kind: SpanKind.INTERNAL, startTime: Math.max(launch.startMs, this.#rootStartMs) },
          trace.setSpan(this.#rootContext, wait),
        )
        .end(launch.endMs)
    }
    wait.end()
  }

  acquireFailed(waitStartMs: number, err: unknown): void {
    const wait = this.#startWait(waitStartMs, false)
    failSpan(wait, errorTypeOf(err))
    wait.end()
  }

  #startWait(waitStartMs: number, cold: boolean): Span {
    return this.#tracer.startSpan(
      'queue wait',
      {
        kind: SpanKind.INTERNAL,
        // The pool's clock has whole milliseconds: never before the span that contains it.
        startTime: Math.max(waitStartMs, this.#rootStartMs),
        attributes: { [ATTR_FAAS_COLDSTART]: cold },
      },
      this.#rootContext,
    )
  }

  executing(): Readonly<Record<string, string>> {
    this.#execution = this.#tracer.startSpan(
      'execute',
      { kind: SpanKind.INTERNAL },
      this.#rootContext,
    )
    return {
      [TRACE_ID_HEADER]: this.traceId,
      [TRACEPARENT_HEADER]: formatTraceparent(this.#execution.spanContext()),
    }
  }

  executed(errorType: string | undefined): void {
    const span = this.#execution
    if (span === undefined) {
      return
    }
    if (errorType !== undefined) {
      failSpan(span, errorType)
    }
    span.end()
    this.#execution = undefined
  }
}
