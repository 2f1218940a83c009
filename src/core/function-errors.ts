/**
 * @module The one table of the `errorType`s the platform itself gives a failed invocation (host,
 * guests, async dispatcher), and what is decided from them: `isPlatformFault`, which the async
 * dispatcher asks to choose a system retry over a function retry. Any other `errorType` is what
 * the function threw and is its own fault. `docs/errors.md` lists every row (a test checks it).
 */

/** Who sets an `errorType`: the host (`runtime`), a guest (`runtimes/*`) or the async dispatcher. */
export type FunctionErrorOrigin = 'host' | 'guest' | 'async'

/** One row of the function-error table. */
export interface FunctionErrorSpec {
  /** Where the type is produced (ResponseTooLarge is checked on both sides). */
  readonly origins: readonly FunctionErrorOrigin[]
  /**
   * The platform, not the function's code, ended the attempt: an async event is retried as a
   * system error (until `max_async_event_age_in_seconds`, not counted against
   * `max_async_retry_attempts`) rather than as a function error.
   */
  readonly platformFault: boolean
  /**
   * A message prefix that makes one case of a platform-fault type the function's own doing. The
   * host reports a `process.exit`/`sys.exit` as `RuntimeExitError` with this message
   * (`runtime/instance.ts` writes it), and only the message tells it from a crash.
   */
  readonly ownFaultMessagePrefix?: string
}

/** What `runtime/instance.ts` says when the function exited its own process mid-invocation. */
export const SELF_EXIT_MESSAGE_PREFIX = 'The function ended its own process'

export const FunctionErrorTypes = {
  // From the host.
  TimeoutError: { origins: ['host'], platformFault: false },
  // Killed by a signal or a crashed interpreter is the platform's; a self-exit is the function's.
  RuntimeExitError: {
    origins: ['host'],
    platformFault: true,
    ownFaultMessagePrefix: SELF_EXIT_MESSAGE_PREFIX,
  },
  // The host's cgroup verdict; the Java guest's own for a heap that ran out.
  OutOfMemoryError: { origins: ['host', 'guest'], platformFault: false },
  ProcessLimitExceeded: { origins: ['host'], platformFault: false },
  TooManyOpenFiles: { origins: ['host'], platformFault: false },
  // An instance that could not start, or not in time, says more about the platform than the code.
  RuntimeStartFailed: { origins: ['host', 'guest'], platformFault: true },
  RuntimeStartTimeout: { origins: ['host'], platformFault: true },
  InitializerTimeout: { origins: ['host'], platformFault: false },
  FunctionServerError: { origins: ['host'], platformFault: false },
  ResponseTooLarge: { origins: ['host', 'guest'], platformFault: false },
  // From the guests.
  ResultSerializationError: { origins: ['guest'], platformFault: false },
  ImportModuleError: { origins: ['guest'], platformFault: false },
  HandlerNotFound: { origins: ['guest'], platformFault: false },
  UncaughtException: { origins: ['guest'], platformFault: false },
  BootstrapNotFound: { origins: ['guest'], platformFault: false },
  BootstrapNotExecutable: { origins: ['guest'], platformFault: false },
  // From the async dispatcher, in the logs only: an attempt cut short by a crash or stop of
  // Strato, whose event the next start returns to the queue as a system retry.
  PlatformRestart: { origins: ['async'], platformFault: true },
} as const satisfies Record<string, FunctionErrorSpec>

export type FunctionErrorType = keyof typeof FunctionErrorTypes

/** The table's row for `errorType`, or undefined for a type the function's own code chose. */
export function functionErrorSpecOf(errorType: string): FunctionErrorSpec | undefined {
  // A function names its own error types ("constructor" too): only the table's own keys count.
  return Object.hasOwn(FunctionErrorTypes, errorType)
    ? FunctionErrorTypes[errorType as FunctionErrorType]
    : undefined
}

/**
 * True when a failed invocation ended by the platform's fault (see `platformFault`): an instance
 * killed under the function or one that could not start. Timeouts, running out of memory, errors
 * loading the code, a self-exit and whatever the function threw are the function's own outcome.
 */
export function isPlatformFault(
  errorType: string | undefined,
  errorMessage: string | undefined,
): boolean {
  const spec = errorType === undefined ? undefined : functionErrorSpecOf(errorType)
  if (spec?.platformFault !== true) {
    return false
  }
  const prefix = spec.ownFaultMessagePrefix
  return prefix === undefined || !(errorMessage ?? '').startsWith(prefix)
}
