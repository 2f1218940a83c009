/**
 * @module An in-memory ExecutionHost for the ASL conformance corpus: time is fake (a sleep advances
 * the clock at once), and the corpus' two LocalStack Lambda functions are emulated, called either
 * directly by ARN or through `arn:aws:states:::lambda:invoke` (which wraps the result in Lambda's
 * Invoke response as AWS does).
 */
import { createHash } from 'node:crypto'
import type { JsonObject, JsonValue } from './definition.js'
import type { ExecutionHost, TaskOutcome, TaskRequest } from './host.js'

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke'

export interface ConformanceHost extends ExecutionHost {
  /** The names of the states entered, in the order they were entered. */
  readonly enteredStates: readonly string[]
  /** The effect paths of the states entered, in order. */
  readonly enteredPaths: readonly string[]
  readonly tasks: readonly TaskRequest[]
  readonly sleeps: readonly { readonly key: string; readonly untilMs: number }[]
  /** Stops the execution (aborts `signal`). */
  stop(): void
}

export interface ConformanceHostOptions {
  /** The fake clock's start (epoch ms); default now. */
  readonly startMs?: number
  /** Answers tasks instead of the emulated Lambda functions. */
  readonly runTask?: (request: TaskRequest) => TaskOutcome | Promise<TaskOutcome>
}

export function createConformanceHost(options: ConformanceHostOptions = {}): ConformanceHost {
  let clock = options.startMs ?? Date.now()
  const enteredStates: string[] = []
  const enteredPaths: string[] = []
  const tasks: TaskRequest[] = []
  const sleeps: { key: string; untilMs: number }[] = []
  const controller = new AbortController()
  // Fake time: once everything runnable has run (setImmediate comes after the pending promise
  // jobs), the earliest sleeper wakes and the clock jumps to its time.
  const sleepers: { untilMs: number; resolve: () => void }[] = []
  let tickScheduled = false
  const scheduleTick = (): void => {
    if (tickScheduled) {
      return
    }
    tickScheduled = true
    setImmediate(() => {
      tickScheduled = false
      const sleeper = sleepers.shift()
      if (sleeper === undefined) {
        return
      }
      clock = Math.max(clock, sleeper.untilMs)
      sleeper.resolve()
      if (sleepers.length > 0) {
        scheduleTick()
      }
    })
  }
  return {
    signal: controller.signal,
    enteredStates,
    enteredPaths,
    tasks,
    sleeps,
    stop: () => controller.abort(),
    now: () => clock,
    enterState: (event) => {
      enteredStates.push(event.stateName)
      enteredPaths.push(event.path)
      return Promise.resolve({ enteredAt: clock })
    },
    exitState: () => Promise.resolve(),
    sleepUntil: (key, untilMs) =>
      new Promise<void>((resolve) => {
        sleeps.push({ key, untilMs })
        sleepers.push({ untilMs, resolve })
        sleepers.sort((a, b) => a.untilMs - b.untilMs)
        scheduleTick()
      }),
    runTask: (request) => {
      tasks.push(request)
      return Promise.resolve(options.runTask?.(request) ?? runEmulatedTask(request))
    },
  }
}

function requestIdOf(request: TaskRequest): string {
  const hex = createHash('sha256').update(`${request.path}@${request.attempt}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

function runEmulatedTask(request: TaskRequest): TaskOutcome {
  const requestId = requestIdOf(request)
  if (request.resource === LAMBDA_INVOKE) {
    const args = request.payload
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      return { ok: false, error: 'States.Runtime', cause: 'lambda:invoke needs an object' }
    }
    const functionName = typeof args['FunctionName'] === 'string' ? args['FunctionName'] : ''
    const outcome = runLambda(functionName, args['Payload'] ?? null, requestId, true)
    if (!outcome.ok) {
      return outcome
    }
    return { ok: true, output: invokeResponse(outcome.output, requestId), requestId }
  }
  return runLambda(request.resource, request.payload, requestId)
}

/** The function name of a Lambda ARN (or a bare name). */
function functionName(arn: string): string {
  const match = /:function:([^:]+)/.exec(arn)
  return match?.[1] ?? arn
}

/**
 * `viaInvoke`: through `lambda:invoke` AWS passes on the function's error JSON as Python wrote it;
 * a direct call re-serialises it compactly.
 */
function runLambda(
  arn: string,
  event: JsonValue,
  requestId: string,
  viaInvoke = false,
): TaskOutcome {
  const name = functionName(arn)
  if (name === 'id_function') {
    return { ok: true, output: event, requestId }
  }
  if (name === 'raise_exception') {
    const cause = {
      errorMessage: 'Some exception was raised.',
      errorType: 'Exception',
      requestId,
      stackTrace: [
        '  File "/var/task/handler.py", line 2, in handler\n    raise Exception("Some exception was raised.")\n',
      ],
    }
    return {
      ok: false,
      error: 'Exception',
      cause: viaInvoke ? pythonJson(cause) : JSON.stringify(cause),
      requestId,
    }
  }
  return {
    ok: false,
    error: 'Lambda.ResourceNotFoundException',
    cause: `Function not found: ${arn}`,
  }
}

function invokeResponse(payload: JsonValue, requestId: string): JsonObject {
  const length = String(Buffer.byteLength(pythonJson(payload)))
  const date = new Date().toUTCString()
  const trace = `Root=1-${requestId.slice(0, 8)}`
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: {
        'X-Amz-Executed-Version': ['$LATEST'],
        'x-amzn-Remapped-Content-Length': ['0'],
        Connection: ['keep-alive'],
        'x-amzn-RequestId': [requestId],
        'Content-Length': [length],
        Date: [date],
        'X-Amzn-Trace-Id': [trace],
        'Content-Type': ['application/json'],
      },
      HttpHeaders: {
        Connection: 'keep-alive',
        'Content-Length': length,
        'Content-Type': 'application/json',
        Date: date,
        'X-Amz-Executed-Version': '$LATEST',
        'x-amzn-Remapped-Content-Length': '0',
        'x-amzn-RequestId': requestId,
        'X-Amzn-Trace-Id': trace,
      },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  }
}

/** JSON as Python's json.dumps writes it (the Lambda runtime's serialiser): ", " and ": ". */
function pythonJson(value: JsonValue): string {
  if (Array.isArray(value)) {
    return `[${value.map(pythonJson).join(', ')}]`
  }
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`)
    return `{${fields.join(', ')}}`
  }
  return JSON.stringify(value)
}
