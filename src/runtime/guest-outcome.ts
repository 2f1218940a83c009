/**
 * @module What goes into an instance for one invocation and what comes out: the input, the outcome,
 * and the failures the function's code caused (reported to the caller as the function's error).
 */
import type { HttpRequestMeta, HttpResponseMeta } from '../core/index.js'

/** A failure the function's code caused; reported to the caller as the function's error. */
export class FunctionFailure extends Error {
  readonly errorType: string
  /** The log the instance produced up to the failure. */
  readonly log: string
  /** The instance's peak memory when it failed (MB); set by the instance that failed. */
  memoryUsedMb = 0

  constructor(errorType: string, message: string, log: string) {
    super(message)
    this.name = 'FunctionFailure'
    this.errorType = errorType
    this.log = log
  }

  /** A judged failure (`death-classifier.ts`) with the log up to it. */
  static of(
    verdict: { readonly errorType: string; readonly message: string },
    log: string,
  ): FunctionFailure {
    return new FunctionFailure(verdict.errorType, verdict.message, log)
  }

  /** `{errorMessage, errorType, stackTrace}` as FunctionGraph returns it. */
  toErrorJson(): Buffer {
    return Buffer.from(
      JSON.stringify({ errorMessage: this.message, errorType: this.errorType, stackTrace: [] }),
    )
  }
}

/** A failure while loading the handler module or running the initializer: the guest's error JSON. */
export class InitFailure extends FunctionFailure {
  readonly errorJson: Buffer
  readonly phase: string

  constructor(errorType: string, message: string, log: string, errorJson: Buffer, phase: string) {
    super(errorType, message, log)
    this.errorJson = errorJson
    this.phase = phase
  }

  /** The guest's `init-error` frame: its error JSON, whose `errorMessage` becomes the message. */
  static fromGuest(errorType: string, errorJson: Buffer, log: string, phase: string): InitFailure {
    let message = 'The function failed to initialise.'
    try {
      message =
        (JSON.parse(errorJson.toString('utf8')) as { errorMessage?: string }).errorMessage ??
        message
    } catch {
      // keep the generic message
    }
    return new InitFailure(errorType, message, log, errorJson, phase)
  }

  override toErrorJson(): Buffer {
    return this.errorJson
  }
}

/** How one invocation ended inside the instance. */
export interface GuestOutcome {
  readonly ok: boolean
  /** The result (ok) or the error JSON. */
  readonly body: Buffer
  readonly text: boolean
  readonly errorType: string | undefined
  readonly memoryUsedMb: number
  readonly log: string
  /** HTTP functions: the server's status and headers (`body` is the raw response body). */
  readonly http?: HttpResponseMeta
}

export interface InvokeInput {
  readonly requestId: string
  readonly payload: Buffer
  readonly timeoutMs: number
  readonly invokeType: 'sync' | 'async'
  readonly alias: string
  readonly headers: Readonly<Record<string, string>>
  readonly http?: HttpRequestMeta
}
