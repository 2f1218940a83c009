/**
 * @module The InvocationTrace port: what the invoker tells an invocation's trace about its phases,
 * and the trace context it hands the function. `observability` implements it; the pool only calls
 * it, so it names no tracing library.
 */

/** When this invocation started the instance that serves it (its cold start), epoch ms. */
export interface LaunchTiming {
  readonly startMs: number
  readonly endMs: number
}

export interface InvocationTrace {
  /** The W3C trace id (32 lowercase hex digits) the function's `getTraceID()` returns. */
  readonly traceId: string
  /**
   * An instance slot was taken: the wait began at `waitStartMs` (when the request reached the
   * invoker) and ends now; `launch` is set when this invocation started the instance.
   */
  acquired(waitStartMs: number, launch: LaunchTiming | undefined): void
  /** No slot was taken (throttled, the code failed to start, shutting down): what was thrown. */
  acquireFailed(waitStartMs: number, err: unknown): void
  /**
   * The function runs from now: the headers it gets (`x-cff-trace-id`, which the guests' context
   * getters read, and `traceparent`, which names the execution as the parent).
   */
  executing(): Readonly<Record<string, string>>
  /** The function's outcome: `errorType` set when it failed. */
  executed(errorType: string | undefined): void
}
