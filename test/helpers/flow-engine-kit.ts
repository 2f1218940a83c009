/**
 * @module What the durable engine's unit tests share: a resolver that knows functions by the name
 * in their URN, an invoker whose functions are test callbacks, workflow records, and an engine on
 * a real store.
 */
import {
  StratoError,
  type FunctionResolver,
  type InvocationRequest,
  type InvocationResult,
  type Invoker,
  type ResolvedFunction,
  type WorkflowRecord,
} from '../../src/core/index.js'
import type { AslDefinition, JsonValue } from '../../src/flows/asl/definition.js'
import {
  DurableFlowEngine,
  type DurableFlowEngineOptions,
} from '../../src/flows/durable/durable-engine.js'

export function urnOf(name: string): string {
  return `urn:fss:r:p1:function:default:${name}:latest`
}

export const resolver: FunctionResolver = {
  resolve(projectId: string, urn: string): Promise<ResolvedFunction> {
    const name = urn.split(':')[6] ?? ''
    if (name === 'missing' || !urn.startsWith('urn:fss:')) {
      return Promise.reject(new StratoError('FUNCTION_NOT_FOUND'))
    }
    const fn = {
      id: `fn-${name}`,
      projectId,
      packageName: 'default',
      name,
      version: 'latest',
    } as unknown as ResolvedFunction['fn']
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
    const record = {
      requestId: request.requestId,
      attempt: request.attempt ?? 1,
      version: 'latest',
      startedAtMs: Date.now(),
      durationMs: 1,
      billedDurationMs: 1,
      memorySizeMb: 128,
      memoryUsedMb: 1,
      errorType: undefined,
      errorMessage: undefined,
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
