/**
 * @module Tracing: OpenTelemetry spans of invocations, exported over OTLP/HTTP (JSON) to
 * `<STRATO_OTLP_ENDPOINT>/v1/traces` in batches. Without an endpoint no SDK object exists and no
 * span is made; every invocation still carries a W3C trace context to its function.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  RandomIdGenerator,
  type IdGenerator,
} from '@opentelemetry/sdk-trace-base'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import {
  ATTR_CLOUD_REGION,
  ATTR_FAAS_INVOCATION_ID,
  ATTR_FAAS_NAME,
  ATTR_FAAS_TRIGGER,
  ATTR_FAAS_VERSION,
} from '@opentelemetry/semantic-conventions/incubating'
import type {
  InvocationRequest,
  InvocationResult,
  InvocationTrace,
  Invoker,
} from '../core/index.js'
import { InvocationSpans, errorTypeOf, failSpan, preciseNowMs } from './invocation-spans.js'
import {
  callerContextOf,
  formatTraceparent,
  isSampled,
  traceIdOfRequest,
  untracedHeaders,
} from './trace-context.js'

const SHUTDOWN_WAIT_MS = 2_000

export interface TracingOptions {
  /** `STRATO_OTLP_ENDPOINT`: the collector's base URL; undefined records nothing. */
  readonly endpoint: string | undefined
  readonly region: string
  /**
   * Whether a function's tracing switch (`updateTracing`) is on. Asked only with an endpoint, for
   * invocations whose caller did not send a sampled `traceparent`; answered from memory once known.
   */
  readonly switchOf: (functionId: string) => boolean | Promise<boolean>
}

/**
 * Trace ids of the traces Strato starts: the request id's hex digits, so a request id finds its
 * trace. The SDK asks for one synchronously inside `startSpan`, right after `#next` is set.
 */
class RequestTraceIds implements IdGenerator {
  readonly #random = new RandomIdGenerator()
  next: string | undefined

  generateTraceId(): string {
    const id = this.next ?? this.#random.generateTraceId()
    this.next = undefined
    return id
  }

  generateSpanId(): string {
    return this.#random.generateSpanId()
  }
}

/** What a function gets when no span of Strato's is recorded: the context passed on as it came. */
class UntracedInvocation implements InvocationTrace {
  readonly #requestId: string
  readonly #traceparent: string | undefined

  constructor(request: InvocationRequest) {
    this.#requestId = request.requestId
    this.#traceparent = request.traceparent
  }

  get traceId(): string {
    return callerContextOf(this.#traceparent)?.traceId ?? traceIdOfRequest(this.#requestId)
  }

  // Nothing is recorded: the phases are not told to anyone.
  acquired(): void {}
  acquireFailed(): void {}
  executing(): Readonly<Record<string, string>> {
    return untracedHeaders(this.#requestId, callerContextOf(this.#traceparent))
  }
  executed(): void {}
}

/**
 * `request` with `trace`. Not a spread: adding a key to a spread copy cost 1 µs here (V8 leaves
 * the fast clone path), `Object.assign` about 0.2 µs.
 */
function withTrace(request: InvocationRequest, trace: InvocationTrace): InvocationRequest {
  return Object.assign({}, request, { trace })
}

/** An async event's accept, as its span: the context to store with the event, and its end. */
export interface AcceptSpan {
  /** The `traceparent` to store with the event ('' when there is none to store). */
  readonly traceparent: string
  end(err?: unknown): void
}

export class Tracing {
  readonly #o: TracingOptions
  readonly #provider: BasicTracerProvider | undefined
  readonly #tracer: Tracer | undefined
  readonly #ids = new RequestTraceIds()

  constructor(options: TracingOptions) {
    this.#o = options
    if (options.endpoint === undefined) {
      return
    }
    const exporter = new OTLPTraceExporter({
      url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces`,
    })
    // Batched and bounded (the SDK's OTEL_BSP_* settings apply): a span ending only joins a
    // buffer, a slow or absent collector never holds up an invocation, and past the queue's
    // bound spans are dropped rather than kept.
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'strato' }),
      idGenerator: this.#ids,
      spanProcessors: [new BatchSpanProcessor(exporter)],
    })
    this.#tracer = this.#provider.getTracer('strato')
  }

  /** True when spans are exported (an endpoint is set). */
  get exporting(): boolean {
    return this.#tracer !== undefined
  }

  /** `inner`, with every invocation traced. */
  wrap(inner: Invoker): Invoker {
    return {
      // Without an endpoint, no promise of its own: the inner invoker's is returned as it is.
      invoke: (request) =>
        this.#tracer === undefined
          ? inner.invoke(withTrace(request, new UntracedInvocation(request)))
          : this.#invoke(inner, request),
      forget: (functionId, version, options) => inner.forget(functionId, version, options),
    }
  }

  async #invoke(inner: Invoker, request: InvocationRequest): Promise<InvocationResult> {
    const caller = callerContextOf(request.traceparent)
    const tracer = this.#tracer
    if (tracer === undefined || !(await this.#records(request.fn.id, caller))) {
      return inner.invoke(withTrace(request, new UntracedInvocation(request)))
    }
    const async = request.invokeType === 'async'
    const root = this.#startSpan(tracer, {
      name: `${async ? 'attempt' : 'invoke'} ${request.fn.name}`,
      kind: async ? SpanKind.CONSUMER : SpanKind.SERVER,
      requestId: request.requestId,
      caller,
      attributes: {
        [ATTR_FAAS_INVOCATION_ID]: request.requestId,
        [ATTR_FAAS_NAME]: request.fn.name,
        [ATTR_FAAS_VERSION]: request.version,
        // Sync invocations answer an HTTP request (the API's or the gateway's); async ones an event.
        [ATTR_FAAS_TRIGGER]: async ? 'pubsub' : 'http',
        [ATTR_CLOUD_REGION]: this.#o.region,
        'strato.package': request.fn.packageName,
        ...(async ? { 'strato.async.attempt': request.attempt ?? 1 } : {}),
      },
    })
    // Read after the root started, so no child can be placed before it.
    const startMs = preciseNowMs()
    const spans = new InvocationSpans(tracer, root, trace.setSpan(ROOT_CONTEXT, root), startMs)
    try {
      const result = await inner.invoke(withTrace(request, spans))
      if (result.kind === 'function-error') {
        failSpan(root, result.record.errorType ?? 'Error')
      }
      return result
    } catch (err) {
      failSpan(root, errorTypeOf(err))
      throw err
    } finally {
      root.end()
    }
  }

  /**
   * The span of accepting an async event, when it is recorded; the context it returns goes with
   * the event, so its attempts join the caller's trace (or the accept's).
   */
  async accept(event: {
    readonly functionId: string
    readonly functionName: string
    readonly requestId: string
    readonly traceparent: string | undefined
  }): Promise<AcceptSpan> {
    const caller = callerContextOf(event.traceparent)
    const tracer = this.#tracer
    if (tracer === undefined || !(await this.#records(event.functionId, caller))) {
      return { traceparent: caller === undefined ? '' : formatTraceparent(caller), end: () => {} }
    }
    const span = this.#startSpan(tracer, {
      name: `accept ${event.functionName}`,
      kind: SpanKind.PRODUCER,
      requestId: event.requestId,
      caller,
      attributes: {
        [ATTR_FAAS_INVOCATION_ID]: event.requestId,
        [ATTR_FAAS_NAME]: event.functionName,
      },
    })
    return {
      traceparent: formatTraceparent(span.spanContext()),
      end: (err?: unknown) => {
        if (err !== undefined) {
          failSpan(span, errorTypeOf(err))
        }
        span.end()
      },
    }
  }

  /** Recorded when the caller sampled its trace, or the function's switch is on. */
  async #records(functionId: string, caller: SpanContext | undefined): Promise<boolean> {
    if (isSampled(caller)) {
      return true
    }
    const on = this.#o.switchOf(functionId)
    if (typeof on === 'boolean') {
      return on
    }
    try {
      return await on
    } catch {
      // The switch could not be read: the invocation runs untraced rather than failing.
      return false
    }
  }

  #startSpan(
    tracer: Tracer,
    s: {
      name: string
      kind: SpanKind
      requestId: string
      caller: SpanContext | undefined
      attributes: Record<string, string | number | boolean>
    },
  ): ReturnType<Tracer['startSpan']> {
    let parent: Context = ROOT_CONTEXT
    if (s.caller !== undefined) {
      parent = trace.setSpanContext(ROOT_CONTEXT, s.caller)
    } else {
      this.#ids.next = traceIdOfRequest(s.requestId)
    }
    // No explicit start time: given one, the SDK would end the span on the millisecond clock.
    return tracer.startSpan(s.name, { kind: s.kind, attributes: s.attributes }, parent)
  }

  /** Exports what is buffered, then stops; a collector that does not answer delays it 2 s at most. */
  async shutdown(): Promise<void> {
    const provider = this.#provider
    if (provider === undefined) {
      return
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      provider.shutdown().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_WAIT_MS)
        timer.unref()
      }),
    ])
    clearTimeout(timer)
  }

  /** Exports what is buffered now (tests, and before a planned stop). */
  async flush(): Promise<void> {
    await this.#provider?.forceFlush()
  }
}
