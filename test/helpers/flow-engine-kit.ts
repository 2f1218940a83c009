/**
 * @module What the durable engine's unit tests share: a resolver that knows functions by the name
 * in their URN, an invoker whose functions are test callbacks, workflow records, an engine on a
 * real store, and the store's async queue run by a real dispatcher (callback tasks go through it).
 */
import { AsyncDispatcher, RetryPolicy } from '../../src/async/index.js'
import {
  acceptAsyncEvent,
  StratoError,
  type FunctionResolver,
  type InvocationRequest,
  type InvocationResult,
  type Invoker,
  type ResolvedFunction,
  type WorkflowRecord,
} from '../../src/core/index.js'
import type { AslDefinition, JsonValue } from '../../src/flows/asl/definition.js'
import type { FlowAsyncQueue } from '../../src/flows/durable/callback-starts.js'
import {
  DurableFlowEngine,
  type DurableFlowEngineOptions,
} from '../../src/flows/durable/durable-engine.js'
import { createLogger } from '../../src/observability/index.js'
import type { Store } from '../../src/store/index.js'
import { functionRecordOf } from './fakes.js'

export function urnOf(name: string): string {
  return `urn:fss:r:p1:function:default:${name}:latest`
}

export const resolver: FunctionResolver = {
  resolve(projectId: string, urn: string): Promise<ResolvedFunction> {
    const name = urn.split(':')[6] ?? ''
    if (name === 'missing' || !urn.startsWith('urn:fss:')) {
      return Promise.reject(new StratoError('FUNCTION_NOT_FOUND'))
    }
    const fn = functionRecordOf({ id: `fn-${name}`, projectId, name, maxInstances: 10 })
    return Promise.resolve({
      fn,
      latest: fn,
      ref: { projectId, packageName: 'default', functionName: name, qualifier: undefined },
      alias: undefined,
    })
  },
}

/** A function's answer: a value (success), `{ error }` (a function error) or a thrown error. */
export type Handler = (
  payload: JsonValue,
  request: InvocationRequest,
) =>
  | JsonValue
  | { readonly functionError: string }
  | Promise<JsonValue | { readonly functionError: string }>

/** Runs each function as a handler by its name; records every call. */
export class ScriptedInvoker implements Invoker {
  readonly calls: InvocationRequest[] = []
  readonly #handlers: Record<string, Handler>

  constructor(handlers: Record<string, Handler>) {
    this.#handlers = handlers
  }

  callsOf(name: string): InvocationRequest[] {
    return this.calls.filter((c) => c.fn.name === name)
  }

  async invoke(request: InvocationRequest): Promise<InvocationResult> {
    this.calls.push(request)
    const handler = this.#handlers[request.fn.name]
    if (handler === undefined) {
      throw new StratoError('FUNCTION_NOT_FOUND')
    }
    const payload = JSON.parse(request.payload.toString('utf8')) as JsonValue
    const answer = await handler(payload, request)
    const failed = typeof answer === 'object' && answer !== null && 'functionError' in answer
    const errorMessage = failed ? (answer as { readonly functionError: string }).functionError : ''
    // What the invocation log keeps of an error (the async dispatcher's records read it).
    const record = {
      requestId: request.requestId,
      attempt: request.attempt ?? 1,
      version: 'latest',
      startedAtMs: Date.now(),
      durationMs: 1,
      billedDurationMs: 1,
      memorySizeMb: 128,
      memoryUsedMb: 1,
      errorType: failed ? 'FunctionError' : undefined,
      errorMessage: failed ? errorMessage : undefined,
      output: '',
    }
    const body = failed
      ? JSON.stringify({
          errorMessage: answer.functionError,
          errorType: 'FunctionError',
          stackTrace: ['at handler'],
        })
      : JSON.stringify(answer)
    return {
      kind: failed ? 'function-error' : 'success',
      body: Buffer.from(body),
      bodyIsText: false,
      record,
    }
  }

  forget(): Promise<void> {
    return Promise.resolve()
  }
}

export function workflowOf(
  definition: AslDefinition,
  mode: 'NORMAL' | 'EXPRESS' = 'NORMAL',
): WorkflowRecord {
  return {
    id: 'wf-1',
    projectId: 'p1',
    name: 'flow',
    description: '',
    mode,
    urn: 'urn:fss:r:p1:workflow:default:flow:latest',
    language: 'asl',
    definitionJson: JSON.stringify(definition),
    irJson: JSON.stringify(definition),
    enableStreamResponse: false,
    createdBy: 'tester',
    createdAt: new Date(),
    updatedAt: new Date(),
  }
}

/** A Task state calling function `name`. */
export function task(name: string, next?: string, extra: Record<string, unknown> = {}): JsonValue {
  return {
    Type: 'Task',
    Resource: urnOf(name),
    ...(next === undefined ? { End: true } : { Next: next }),
    ...extra,
  }
}

/** A test that runs no callback task has no async queue: accepting an event fails. */
const NO_ASYNC_QUEUE: FlowAsyncQueue = {
  region: 'r',
  accept: () => Promise.reject(new Error('This test has no async queue.')),
  record: () => Promise.resolve(undefined),
}

/** The async side of a test Strato: the store's queue, run by a real dispatcher over `invoker`. */
export interface AsyncSide {
  /** What the engine is given (`asyncQueue`). */
  readonly queue: FlowAsyncQueue
  readonly dispatcher: AsyncDispatcher
  /** The status of the queue's event `requestId` of function `name` (undefined: none). */
  statusOf(name: string, requestId: string): Promise<string | undefined>
}

/** Starts a dispatcher on `store`'s queue (function error retries after ~20 ms); stop it after. */
export async function asyncSideOf(store: Store, invoker: Invoker): Promise<AsyncSide> {
  const dispatcher = new AsyncDispatcher({
    queue: store.asyncQueue,
    invoker,
    attemptLog: { append: () => undefined },
    resolve: async (projectId, functionUrn) => {
      const r = await resolver.resolve(projectId, functionUrn)
      return { fn: r.fn, alias: '', qualifier: 'latest', functionUrn }
    },
    configOf: () => Promise.resolve(undefined),
    retryPolicy: new RetryPolicy({
      functionErrorBaseMs: 40,
      systemErrorBaseMs: 40,
      systemErrorMaxMs: 200,
    }),
    logger: createLogger('silent'),
    concurrency: 4,
    pollMs: 20,
    maxInstancesPerFunction: 10,
    nodeId: 'node-a',
  })
  await dispatcher.start()
  const record = async (functionId: string, requestId: string) =>
    (await store.asyncRecords.list({ functionId, requestId, offset: 0, limit: 1 })).records[0]
  return {
    queue: {
      region: 'r',
      accept: (target, event) => acceptAsyncEvent(store.asyncQueue, target, event),
      record,
    },
    dispatcher,
    statusOf: async (name, requestId) => (await record(`fn-${name}`, requestId))?.status,
  }
}

export function engineOf(
  options: Pick<DurableFlowEngineOptions, 'repository' | 'invoker'> &
    Partial<DurableFlowEngineOptions>,
): DurableFlowEngine {
  return new DurableFlowEngine({
    functions: resolver,
    owner: 'node-a',
    leaseMs: 3_000,
    logger: { warn: () => undefined, error: () => undefined },
    calls: { unavailableRetries: 2, unavailableBackoffMs: 5 },
    asyncQueue: NO_ASYNC_QUEUE,
    asyncStatusPollMs: 20,
    ...options,
  })
}

/** Polls until `check` is true (at most `ms`). */
export async function eventually(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) {
      throw new Error('timed out waiting')
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
