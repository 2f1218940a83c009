/**
 * @module The Invoker port: what api, async, triggers and flows call to run a function, and what
 * comes back. `main.ts` injects the local instance pool (later: a remote invoker for the cluster).
 */
import type { FunctionRecord } from './function.js'
import type { HttpRequestMeta, HttpResponseMeta } from './http-function.js'
import type { InvocationRecord } from './invocation-log.js'
import type { InvocationTrace } from './invocation-trace.js'

export interface InvocationRequest {
  readonly fn: FunctionRecord
  /** The version that serves this invocation (`latest` or a published version's name). */
  readonly version: string
  /** The alias the caller named ('' for none), for `context.getAlias()`. */
  readonly alias: string
  readonly requestId: string
  /** The event as the raw JSON bytes the caller sent; parsed once, inside the instance. */
  readonly payload: Buffer
  /** 'sync' or 'async', handed to the function as `X-CFF-Invoke-Type`. */
  readonly invokeType: 'sync' | 'async'
  /** Which attempt of an async event this is (1 for the first, and for every sync call). */
  readonly attempt?: number
  /** Tells the invoker when the caller goes away; a request still waiting then never runs. */
  readonly caller?: CallerPresence
  /**
   * For an HTTP function: the request for its web server (the payload is then the raw request
   * body). The result's `http` carries the response, and its `body` the raw response body.
   */
  readonly http?: HttpRequestMeta
  /**
   * Dynamic memory: the memory size (MB) of the instance to serve this request when it differs
   * from the function's (`requestedMemoryOf`). Instances of each size are pooled apart.
   */
  readonly memorySizeMb?: number
  /**
   * Extra `x-cff-*` context for the function (lower-case names), e.g. a flow's
   * `x-cff-workflow-id` / `-run-id` / `-state-id`, which the guests expose as
   * `context.getWorkflowID()` etc.
   */
  readonly contextHeaders?: Readonly<Record<string, string>>
  /** The W3C `traceparent` the caller sent (or stored with an async event), unparsed. */
  readonly traceparent?: string
  /** Set by the tracing invoker: the invoker reports the invocation's phases to it. */
  readonly trace?: InvocationTrace
}

/**
 * Whether the caller is still there. Asked only when a request has to wait for an instance, so the
 * usual path pays for no listener (an AbortController per request measurably costs throughput).
 */
export interface CallerPresence {
  readonly gone: () => boolean
  /** Calls `listener` once when the caller goes away; returns a function that cancels it. */
  readonly onGone: (listener: () => void) => () => void
}

/** What `callerPresenceOf` needs of a Node.js HTTP response. */
export interface ResponseLike {
  readonly writableFinished: boolean
  readonly destroyed: boolean
  readonly socket: { readonly destroyed: boolean } | null
  once(event: 'close', listener: () => void): unknown
  off(event: 'close', listener: () => void): unknown
}

/** The caller behind an HTTP response: gone once the response closes before it was finished. */
export function callerPresenceOf(res: ResponseLike): CallerPresence {
  return {
    gone: () => !res.writableFinished && (res.destroyed || res.socket?.destroyed === true),
    onGone: (listener) => {
      const onClose = (): void => {
        if (!res.writableFinished) {
          listener()
        }
      }
      res.once('close', onClose)
      return () => res.off('close', onClose)
    },
  }
}

/**
 * How an invocation ended. System failures (no instance could be started, throttling) are thrown as
 * StratoError instead: they are not the function's outcome.
 * * `success`        - the handler returned; `body` is the serialised result
 * * `function-error` - the handler threw, timed out, ran out of memory, or its instance died;
 *                      `body` is `{errorMessage, errorType, stackTrace}`
 */
export interface InvocationResult {
  readonly kind: 'success' | 'function-error'
  /** The result bytes (v0 body). */
  readonly body: Buffer
  /** True when the handler returned a string (served as text/plain in v0). */
  readonly bodyIsText: boolean
  /** What was recorded; `formatInvocationLog(record)` gives the FunctionGraph log text. */
  readonly record: InvocationRecord
  /** An HTTP function's response status and headers (success only). */
  readonly http?: HttpResponseMeta
}

export interface Invoker {
  invoke(request: InvocationRequest): Promise<InvocationResult>
  /**
   * Drops warm instances of a function that changed: of one version (`latest` after a code or
   * config change, a deleted published version) or, without `version`, of all (function deleted).
   * After a change, requests already waiting still run on the revision they were accepted for;
   * with `deleted`, they end with FUNCTION_NOT_FOUND / VERSION_NOT_FOUND and never run.
   */
  forget(
    functionId: string,
    version?: string,
    options?: { readonly deleted?: boolean },
  ): Promise<void>
}
